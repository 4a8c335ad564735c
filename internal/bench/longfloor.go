package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// LongFloor compares `codexgate serve` with the bare reverse proxy (the
// floor) on the CPU-share section's long stream, where the per-event relay
// work outweighs the per-request work.
type LongFloor struct {
	Events   int
	Rounds   int         // interleaved rounds per concurrency
	Overhead []*Overhead // c=1 and c=8: direct, floor, serve
	Err      error
}

// FloorRounds is how many rounds the long-stream comparison runs at each
// concurrency: each round sends serve's and the floor's requests
// interleaved (MeasureMixed) and reads both processes' CPU over it, so the
// run yields 2 × FloorRounds paired CPU figures.
const FloorRounds = 8

// PairedCPU is serve's CPU over the floor's in each round (same requests,
// same seconds), over every concurrency.
func (f *LongFloor) PairedCPU(serve, floor string) []float64 {
	var out []float64
	for _, o := range f.Overhead {
		s, b := o.RoundCPU[serve], o.RoundCPU[floor]
		for i := range min(len(s), len(b)) {
			if b[i] > 0 {
				out = append(out, float64(s[i])/float64(b[i]))
			}
		}
	}
	return out
}

// requests is how many requests target name got over every concurrency.
func (f *LongFloor) requests(name string) int {
	n := 0
	for _, o := range f.Overhead {
		if s := o.Samples[name]; s != nil {
			n += len(s.Latencies) + s.Errors
		}
	}
	return n
}

// cpu is the process CPU charged to target name over every concurrency:
// all of it, or its user-space part.
func (f *LongFloor) cpu(name string, user bool) time.Duration {
	var d time.Duration
	for _, o := range f.Overhead {
		if user {
			d += o.UserCPU[name]
		} else {
			d += o.CPU[name]
		}
	}
	return d
}

// CPUPerRequest is target name's CPU per request (0 when not charged).
func (f *LongFloor) CPUPerRequest(name string) time.Duration { return f.perRequest(name, false) }

// UserCPUPerRequest is the user-space part of CPUPerRequest: the process's
// own code, without the kernel's work on its sockets.
func (f *LongFloor) UserCPUPerRequest(name string) time.Duration { return f.perRequest(name, true) }

func (f *LongFloor) perRequest(name string, user bool) time.Duration {
	n := f.requests(name)
	if n == 0 {
		return 0
	}
	return f.cpu(name, user) / time.Duration(n)
}

// measureLongFloor runs serve and the bare reverse proxy against the
// simulator at simURL (answering ShareAnswer) and measures both beside the
// direct baseline at c=1 and c=8, n requests each.
func measureLongFloor(ctx context.Context, o Options, ten *Tenant, simURL string, n int) *LongFloor {
	f := &LongFloor{Events: ShareWords + 8, Rounds: FloorRounds}
	serve, err := StartServe(o.Codexgate, ten.Env(simURL), io.Discard)
	if err != nil {
		f.Err = err
		return f
	}
	defer serve.Stop()
	bareProc, err := StartBareProxy(simURL)
	if err != nil {
		f.Err = err
		return f
	}
	defer bareProc.Stop()
	c := client()
	main := ten.Accounts["main"].Token
	direct := DirectTarget(c, simURL, main.Access, main.AccountID)
	bare := DirectTarget(c, bareProc.URL, main.Access, main.AccountID)
	bare.Name = BareProxyName
	srv := ServeTarget(c, serve.URL, ten.Key)
	targets := []Target{direct, bare, srv}
	for _, t := range targets {
		if s := Run(ctx, 1, 20, t.Do); s.Errors > 0 {
			f.Err = fmt.Errorf("warm-up %s: %d failed: %w", t.Name, s.Errors, s.FirstErr)
			return f
		}
	}
	cpu := map[string]int{srv.Name: serve.Pid(), bare.Name: bareProc.Pid()}
	for _, conc := range []int{1, 8} {
		ov, err := MeasureMixed(ctx, conc, n, f.Rounds, targets, cpu)
		if err != nil {
			f.Err = err
			return f
		}
		f.Overhead = append(f.Overhead, ov)
	}
	return f
}
