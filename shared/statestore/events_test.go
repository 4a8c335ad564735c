package statestore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/statestore"
)

// TestStore_Events: events come back newest first, at most n, each item
// with a TTL; the account partition (Load) does not see them.
func TestStore_Events(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for i, ev := range []statestore.Event{
		{At: t0, Account: "a", Kind: statestore.EventLeaseOutlived},
		{At: t0.Add(time.Second), Account: "b", Kind: statestore.EventReauthRequired, Reason: strings.Repeat("x", 500)},
		{At: t0.Add(2 * time.Second), Account: "a", Kind: statestore.EventRotatedTokenNotStored},
	} {
		if err := e.store.RecordEvent(ctx, ev, time.Hour); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	got, err := e.store.RecentEvents(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != statestore.EventRotatedTokenNotStored || !got[0].At.Equal(t0.Add(2*time.Second)) ||
		got[1].Account != "b" || len(got[1].Reason) != 200 {
		t.Fatalf("RecentEvents(2) = %+v", got)
	}
	for _, it := range e.partition(t, "events") {
		if _, err := strconv.ParseInt(testsupport.Num(it, "ttl"), 10, 64); err != nil {
			t.Errorf("event item without ttl: %v", it)
		}
	}
	if snap := e.load(t); len(snap.States)+len(snap.Quotas)+len(snap.Registered) != 0 {
		t.Errorf("events showed in Load: %+v", snap)
	}
}

// TestEventLog_BestEffort: the codex.Events adapter returns at once and
// writes in the background (Wait waits for it); a write that fails is only
// logged.
func TestEventLog_BestEffort(t *testing.T) {
	e := setup(t)
	l := &statestore.EventLog{Store: e.store, Timeout: 5 * time.Second}
	l.ReauthRequired("acct", "refresh_token_reused")
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.RecentEvents(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Account != "acct" || got[0].Kind != statestore.EventReauthRequired || got[0].Reason != "refresh_token_reused" {
		t.Fatalf("event not recorded: %+v", got)
	}
	// A table that does not exist: the call still returns at once.
	bad := &statestore.EventLog{Store: statestore.New(e.ddb, "no-such-table"), Timeout: time.Second}
	start := time.Now()
	bad.LeaseOutlived("acct")
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("LeaseOutlived took %v: it must not wait for the write", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bad.Wait(ctx); err != nil {
		t.Errorf("Wait: %v (the failed write must end within its timeout)", err)
	}
}
