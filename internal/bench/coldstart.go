package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"
)

// ColdStart is one bootstrap's size and init time under the RIE.
type ColdStart struct {
	Function    string
	SizeArm64   int64         // build/<fn>/bootstrap from `make build` (0: missing)
	SizeHost    int64         // the host build the RIE ran
	RIEInit     time.Duration // median "Init Duration" the RIE reports (not the bootstrap's init)
	FirstAnswer time.Duration // median time from the RIE listening to the first invocation answered
	Warm        time.Duration // median time of the second, warm invocation
	Runs        int
	Err         error
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// MeasureColdStart starts a fresh RIE with the bootstrap runs times, sends
// event once each time and records the RIE's Init Duration and the time
// from the RIE's start to the answer.
func MeasureColdStart(ctx context.Context, fn, hostBin, armBin string, env []string, event []byte, runs int) ColdStart {
	cs := ColdStart{Function: fn, SizeArm64: fileSize(armBin), SizeHost: fileSize(hostBin), Runs: runs}
	var inits, firsts, warms []time.Duration
	c := &http.Client{Timeout: 60 * time.Second}
	for range runs {
		r, err := StartRIE(hostBin, env)
		if err != nil {
			cs.Err = err
			return cs
		}
		t0 := time.Now()
		b, err := r.Invoke(ctx, c, event)
		first := time.Since(t0)
		t1 := time.Now()
		_, werr := r.Invoke(ctx, c, event)
		warm := time.Since(t1)
		if err == nil {
			err = werr
		}
		init, ok := r.InitDuration(2 * time.Second)
		log := r.Log()
		r.Stop()
		if err != nil {
			cs.Err = fmt.Errorf("invoke: %w\n%.2000s", err, log)
			return cs
		}
		if !ok {
			cs.Err = fmt.Errorf("no Init Duration in the RIE log (answer %.200s)", b)
			return cs
		}
		inits, firsts, warms = append(inits, init), append(firsts, first), append(warms, warm)
	}
	slices.Sort(inits)
	slices.Sort(firsts)
	slices.Sort(warms)
	cs.RIEInit, cs.FirstAnswer, cs.Warm = inits[len(inits)/2], firsts[len(firsts)/2], warms[len(warms)/2]
	return cs
}
