package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is the outcome of a batch of requests.
type Sample struct {
	Latencies []time.Duration // successful requests only, sorted
	Errors    int
	FirstErr  error
	Wall      time.Duration
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the successful
// latencies, nearest-rank.
func (s Sample) Percentile(p float64) time.Duration {
	return percentile(s.Latencies, p)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Run sends n requests with do, concurrency callers at a time, and times
// each one. do must read the whole answer and return an error for anything
// but a complete success.
func Run(ctx context.Context, concurrency, n int, do func(context.Context) error) Sample {
	return RunMixed(ctx, concurrency, n, []Target{{Do: do}})[0]
}

// RunMixed sends n requests to each target, concurrency callers at a time,
// the targets' requests interleaved one by one (request i goes to target
// i mod len(targets)), so that every target meets the same machine: the
// same load from the others, the same moments of noise. The samples are in
// targets' order.
func RunMixed(ctx context.Context, concurrency, n int, targets []Target) []Sample {
	var next atomic.Int64
	var mu sync.Mutex
	out := make([]Sample, len(targets))
	start := time.Now()
	var wg sync.WaitGroup
	total := int64(n * len(targets))
	for range concurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < total && ctx.Err() == nil; i = next.Add(1) - 1 {
				k := int(i % int64(len(targets)))
				t := time.Now()
				err := targets[k].Do(ctx)
				d := time.Since(t)
				mu.Lock()
				s := &out[k]
				if err != nil {
					s.Errors++
					if s.FirstErr == nil {
						s.FirstErr = err
					}
				} else {
					s.Latencies = append(s.Latencies, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for k := range out {
		out[k].Wall = time.Since(start)
		slices.Sort(out[k].Latencies)
	}
	return out
}

func sortDurations(d []time.Duration) { slices.Sort(d) }
