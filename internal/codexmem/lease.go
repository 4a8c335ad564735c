package codexmem

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// Leaser is a codex.Leaser in memory, with dynamolease's rules: a lease is
// free when never taken or released, or when the caller passes the exact
// record it watched stand still; every write is conditioned on owner and
// fence. No stored time is compared with a clock.
type Leaser struct {
	// ExcludeNothing grants every acquire, as an in-process mutex does
	// across containers: the negative control of the lease.
	ExcludeNothing bool

	now   func() time.Time
	mu    sync.Mutex
	items map[string]*codex.Lease
	beats map[string]int64
	calls atomic.Int64
}

var _ codex.Leaser = (*Leaser)(nil)

// NewLeaser returns a Leaser stamping expiries (informational) with now.
func NewLeaser(now func() time.Time) *Leaser {
	return &Leaser{now: now, items: map[string]*codex.Lease{}, beats: map[string]int64{}}
}

// Calls counts the calls made, as AWS calls would be.
func (m *Leaser) Calls() int64 { return m.calls.Load() }

// Acquire implements codex.Leaser.
func (m *Leaser) Acquire(_ context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error) {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[key]
	if it == nil {
		it = &codex.Lease{Key: key}
		m.items[key] = it
	}
	rec := m.recordLocked(key, it)
	same := stale != nil && stale.Owner == rec.Owner && stale.Fence == rec.Fence && stale.Beat == rec.Beat
	free := it.Owner == "" || it.ExpiresAt.IsZero() || it.Owner == owner || same
	if !m.ExcludeNothing && !free {
		return nil, rec
	}
	it.Owner, it.ExpiresAt, it.TTL = owner, m.now().Add(ttl), ttl
	it.Fence++
	m.beats[key] = 0
	cp := *it
	cp.Reauth = maps.Clone(it.Reauth)
	cp.Current = maps.Clone(it.Current)
	return &cp, nil
}

// held returns l's item while owner and fence are still l's.
func (m *Leaser) held(l *codex.Lease) (*codex.Lease, error) {
	it := m.items[l.Key]
	if it == nil || (!m.ExcludeNothing && (it.Owner != l.Owner || it.Fence != l.Fence)) {
		return nil, codex.ErrLeaseLost
	}
	return it, nil
}

// Renew implements codex.Leaser.
func (m *Leaser) Renew(_ context.Context, l *codex.Lease, ttl time.Duration) error {
	return m.write(l, func(it *codex.Lease) error {
		if it.ExpiresAt.IsZero() && !m.ExcludeNothing {
			return codex.ErrLeaseLost // released: a late renewal must not hold it again
		}
		it.ExpiresAt, it.TTL = m.now().Add(ttl), ttl
		m.beats[l.Key]++
		return nil
	})
}

// SetPending implements codex.Leaser.
func (m *Leaser) SetPending(_ context.Context, l *codex.Lease, p codex.Pending, b codex.RefreshBudget) error {
	return m.write(l, func(it *codex.Lease) error {
		it.Pending, it.Budget = p, b
		return nil
	})
}

// Release implements codex.Leaser: the item and its fence stay.
func (m *Leaser) Release(_ context.Context, l *codex.Lease, r codex.Release) error {
	return m.write(l, func(it *codex.Lease) error {
		it.ExpiresAt = time.Time{}
		if len(r.Current) > 0 {
			if it.Current == nil {
				it.Current = map[string]string{}
			}
			maps.Copy(it.Current, r.Current)
			maps.DeleteFunc(it.Current, func(_, id string) bool { return id == "" })
		}
		if r.ClearPending {
			it.Pending = codex.Pending{}
		}
		if r.Reauth != nil {
			it.Reauth = maps.Clone(r.Reauth)
		}
		return nil
	})
}

// write applies fn to l's item, counted as one call, while owner and fence
// are still l's (codex.ErrLeaseLost otherwise), as every holder's write is
// conditioned in DynamoDB.
func (m *Leaser) write(l *codex.Lease, fn func(it *codex.Lease) error) error {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.held(l)
	if err != nil {
		return err
	}
	return fn(it)
}

// Inspect implements codex.Leaser.
func (m *Leaser) Inspect(_ context.Context, key string) (*codex.LeaseHeldError, error) {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[key]
	if it == nil {
		return &codex.LeaseHeldError{}, nil
	}
	return m.recordLocked(key, it), nil
}

// recordLocked is key's item as a waiter sees it.
func (m *Leaser) recordLocked(key string, it *codex.Lease) *codex.LeaseHeldError {
	return &codex.LeaseHeldError{Owner: it.Owner, Fence: it.Fence, Beat: m.beats[key], TTL: it.TTL, ExpiresAt: it.ExpiresAt, Current: maps.Clone(it.Current)}
}
