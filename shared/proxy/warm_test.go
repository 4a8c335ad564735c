package proxy

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// rendezvousStore answers List only once AccountStates has been called
// too: a pool that made the two reads one after the other would wait out
// the timeout.
type rendezvousStore struct {
	*fakeStore
	statesCalled chan struct{}
}

func (r rendezvousStore) List(ctx context.Context) ([]string, error) {
	select {
	case <-r.statesCalled:
	case <-time.After(20 * time.Second):
		return nil, context.DeadlineExceeded
	}
	return r.fakeStore.List(ctx)
}

func (r rendezvousStore) AccountStates(ctx context.Context) ([]AccountState, error) {
	close(r.statesCalled)
	return r.fakeStore.AccountStates(ctx)
}

func TestProxy_Warm_ConcurrentReadsAndPrefetch(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	h.store.states = []AccountState{{Account: "a", Quota: quota.Snapshot{Windows: []quota.Window{{UsedPercent: 90}}}}}
	rs := rendezvousStore{fakeStore: h.store, statesCalled: make(chan struct{})}
	cfg := h.proxy.cfg
	cfg.Accounts, cfg.States = rs, rs
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Warm(ctx); err != nil {
		t.Fatalf("Warm: %v (the list and the states were not read concurrently?)", err)
	}
	// The first request's account (b: more headroom than a) has its token
	// read already, without forcing anything.
	h.tokens.mu.Lock()
	calls := slices.Clone(h.tokens.calls)
	h.tokens.mu.Unlock()
	if len(calls) != 1 || calls[0].Account != "b" || calls[0].Opts.Force {
		t.Errorf("token calls during Warm = %+v, want one unforced call for b", calls)
	}
	if got, _, _ := p.pool.pick("", nil, nil); got != "b" {
		t.Errorf("pick after Warm = %s, want b", got)
	}
}
