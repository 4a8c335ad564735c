package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/codexgate/codexgate/internal/rie"
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

// MeasureColdStart starts a fresh RIE (rieBin, see rie.Find) with the
// bootstrap runs times, sends event twice each time and records the RIE's
// Init Duration and the first (cold) and second (warm) invocation's time.
func MeasureColdStart(ctx context.Context, rieBin, fn, hostBin, armBin string, env []string, event []byte, runs int) ColdStart {
	cs := ColdStart{Function: fn, SizeArm64: fileSize(armBin), SizeHost: fileSize(hostBin), Runs: runs}
	var inits, firsts, warms []time.Duration
	for range runs {
		r, err := rie.Start(rieBin, hostBin, env)
		if err != nil {
			cs.Err = err
			return cs
		}
		b, first, err := timedInvoke(ctx, r, event)
		_, warm, werr := timedInvoke(ctx, r, event)
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

// timedInvoke sends event once and returns the answer and its latency.
func timedInvoke(ctx context.Context, r *rie.Container, event []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	t0 := time.Now()
	b, err := r.Invoke(ctx, event)
	return b, time.Since(t0), err
}
