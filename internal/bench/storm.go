package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Storm is the outcome of K containers × N requests on one expired token.
type Storm struct {
	Kind               string // "codexgate serve processes" or "RIE proxy containers"
	Containers, PerCon int
	Requests, Served   int
	Refreshes, Reuse   int
	P50, P99, Max      time.Duration
	FirstErr           error
}

// RunStorm expires the account's access tokens, then sends perCon requests to
// each of the targets at once (each target is one container; sequential
// marks a target that serves one request at a time, like an RIE), and reads
// the simulator's refresh and reuse counters before and after.
func RunStorm(ctx context.Context, kind string, ctl SimControl, accountID string, targets []Target, perCon int, sequential bool) (*Storm, error) {
	before, err := ctl.Stats()
	if err != nil {
		return nil, err
	}
	if err := ctl.Expire(accountID); err != nil {
		return nil, err
	}
	st := &Storm{Kind: kind, Containers: len(targets), PerCon: perCon, Requests: len(targets) * perCon}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for _, t := range targets {
		callers := perCon
		if sequential {
			callers = 1
		}
		per := perCon / callers
		for range callers {
			wg.Go(func() {
				for range per {
					s := time.Now()
					err := t.Do(ctx)
					d := time.Since(s)
					mu.Lock()
					if err == nil {
						st.Served++
						lat = append(lat, d)
					} else if st.FirstErr == nil {
						st.FirstErr = err
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	after, err := ctl.Stats()
	if err != nil {
		return nil, err
	}
	slices.Sort(lat)
	st.Refreshes = after.Refreshes - before.Refreshes
	st.Reuse = after.ReuseRejections - before.ReuseRejections
	st.P50, st.P99 = percentile(lat, 50), percentile(lat, 99)
	if len(lat) > 0 {
		st.Max = lat[len(lat)-1]
	}
	if st.Served != st.Requests && st.FirstErr == nil {
		st.FirstErr = fmt.Errorf("%d of %d not served", st.Requests-st.Served, st.Requests)
	}
	return st, nil
}
