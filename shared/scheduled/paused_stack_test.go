package scheduled

import (
	"context"
	"testing"
	"time"
)

// TestScheduled_Moto_PausedStillRefreshedAndPolled: a paused account only
// stops serving; the keep-alive still refreshes its token and quota-cron
// still polls its quota, so a resume serves at once and `accounts` shows
// its quota.
func TestScheduled_Moto_PausedStillRefreshedAndPolled(t *testing.T) {
	s := newStack(t, 0)
	s.addAccount("kim", 0)
	s.addAccount("lee", 0)
	ctx := context.Background()
	if err := s.states.SetPaused(ctx, "kim", true); err != nil {
		t.Fatal(err)
	}
	a := s.App(nil, nil)
	before := s.current("kim")

	q := &QuotaCron{Accounts: a.Accounts, Tokens: a.Refresher, Usage: s.usage(), States: a.States, Logger: quiet}
	res, err := q.Handle(ctx, scheduledEvent(t))
	if err != nil || res.OK != 2 {
		t.Fatalf("quota-cron: ok %d of 2, failed %d, err %v", res.OK, res.Failed, err)
	}
	if got := s.quota("kim"); got.FetchedAt.IsZero() {
		t.Errorf("paused kim has no quota snapshot: %+v", got)
	}
	// A window longer than any token's life: every token is due.
	k := &KeepAlive{Accounts: a.Accounts, Stored: a.Secrets, Tokens: a.Refresher, States: a.States, Window: 1000 * time.Hour, Logger: quiet}
	kres, err := k.Handle(ctx, RefreshRequest{})
	if err != nil || kres.Refreshed != 2 {
		t.Fatalf("keep-alive: refreshed %d of 2 (%+v), err %v", kres.Refreshed, kres.Accounts, err)
	}
	if after := s.current("kim"); after.ID == before.ID {
		t.Errorf("paused kim's secret version unchanged (%s): not refreshed", after.ID)
	}
}
