package codex

import (
	"context"
	"sync"
	"time"
)

// leaseWatches remembers, per lease key, the holder record this container
// last saw and since when by its own clock. A lease whose record (owner,
// fence, beat) stood still for the holder's full lease duration belongs to a
// holder that stopped renewing: only then may it be taken over. Watching
// counts time on this machine only, so a clock that is minutes off anywhere
// can neither shorten nor lengthen another holder's lease. Watches are kept
// across requests, so a container's waiting adds up.
type leaseWatches struct {
	mu sync.Mutex
	m  map[string]watch
}

type watch struct {
	record *LeaseHeldError
	since  time.Time
}

// observe records held as seen at now and returns it when it has stood
// still for its lease duration (fallback: the caller's own), nil otherwise.
func (w *leaseWatches) observe(key string, held *LeaseHeldError, now time.Time, fallback time.Duration) *LeaseHeldError {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]watch{}
	}
	cur, ok := w.m[key]
	if !ok || !held.sameRecord(cur.record) {
		w.m[key] = watch{record: held, since: now}
		return nil
	}
	if now.Sub(cur.since) >= recordTTL(held, fallback) {
		return held
	}
	return nil
}

// due is how long until the watched record of key may be taken over.
func (w *leaseWatches) due(key string, now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.m[key]
	if !ok {
		return 0
	}
	return cur.since.Add(recordTTL(cur.record, 0)).Sub(now)
}

func (w *leaseWatches) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}

func recordTTL(held *LeaseHeldError, fallback time.Duration) time.Duration {
	if held.TTL > 0 {
		return held.TTL
	}
	return fallback
}

// flightCount counts refreshes in progress, so that a process can finish
// them before it exits (Refresher.Wait).
type flightCount struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while idle
}

func (f *flightCount) add(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 && d > 0 {
		f.idle = make(chan struct{})
	}
	f.n += d
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// InFlight reports how many refreshes are running in this process.
func (r *Refresher) InFlight() int {
	r.inFlight.mu.Lock()
	defer r.inFlight.mu.Unlock()
	return r.inFlight.n
}

// Wait blocks until no refresh is running in this process, or ctx ends. A
// process that exits on a signal calls it first: a refresh whose rotated
// token is not yet stored would otherwise take the only copy with it.
func (r *Refresher) Wait(ctx context.Context) error {
	r.inFlight.mu.Lock()
	idle := r.inFlight.idle
	r.inFlight.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
