package scheduled

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// Snapshots are classified by window length even with the windows swapped;
// an exhausted account cools down until its reset and is lifted once quota
// is back; a garbage secret and a login spent behind codexgate's back fail
// alone.
func TestQuotaCron_Moto_Batch(t *testing.T) {
	s := newStack(t, time.Hour)
	s.addAccount("alpha", 0)
	s.addAccount("bravo", 0)
	dead := s.addAccount("dead", 2*time.Hour) // access token expired an hour ago
	s.putRaw("garbage", `{"tokens": "not an object"}`)
	s.Sim.SwapUsageWindows(true)
	_ = s.Sim.SetUsage("id-alpha", 15, 65)
	reset := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	_ = s.Sim.SetUsageLimit("id-bravo", reset)
	// Someone else spends dead's refresh token: the next refresh is a reuse.
	oauth := &codex.OAuthClient{TokenURL: s.TokenURL()}
	if _, err := oauth.Refresh(context.Background(), dead.RefreshToken); err != nil {
		t.Fatal(err)
	}

	q := &QuotaCron{Accounts: s.Secrets, Tokens: s.container(), Usage: s.usage(), States: s.states, Logger: quiet}
	res, err := q.Handle(context.Background(), scheduledEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"alpha": StatusOK, "bravo": StatusLimited, "dead": StatusReauthRequired, "garbage": StatusError}
	if len(res.Accounts) != len(want) {
		t.Fatalf("outcomes = %+v", res.Accounts)
	}
	for _, o := range res.Accounts {
		if o.Status != want[o.Account] {
			t.Errorf("%s: %q (%s), want %q", o.Account, o.Status, o.Error, want[o.Account])
		}
	}
	checkWindows(t, s.quota("alpha"), 15, 65)
	if st := s.state("bravo"); st.CooldownReason != quota.CooldownUsageLimit || !st.CooldownUntil.Equal(reset) {
		t.Errorf("bravo state = %+v, want cooldown until %v", st, reset)
	}
	if st := s.state("dead"); st.Status != statestore.StatusReauthRequired {
		t.Errorf("dead not marked reauth_required: %+v", st)
	}

	// Quota back: the cooldown is lifted; dead is reported, not retried.
	_ = s.Sim.ClearUsageLimit("id-bravo")
	before := s.Sim.Stats()
	res, err = q.Handle(context.Background(), events.EventBridgeEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(res, "bravo"); o.Status != StatusOK || !o.CooldownCleared {
		t.Errorf("bravo after reset: %+v", o)
	}
	if st := s.state("bravo"); !st.CooldownUntil.IsZero() {
		t.Errorf("bravo cooldown not cleared: %+v", st)
	}
	if o := outcome(res, "dead"); o.Status != StatusReauthRequired {
		t.Errorf("dead: %+v", o)
	}
	if after := s.Sim.Stats(); after.RefreshRequests != before.RefreshRequests {
		t.Errorf("second run sent %d refresh requests, want 0", after.RefreshRequests-before.RefreshRequests)
	}
}

// The cron and proxy containers racing on an expired token spend its
// refresh token exactly once.
func TestQuotaCron_Moto_RaceWithProxy(t *testing.T) {
	s := newStack(t, time.Hour)
	tok := s.addAccount("shared", 2*time.Hour)
	q := &QuotaCron{Accounts: s.Secrets, Tokens: s.container(), Usage: s.usage(), States: s.states, Logger: quiet}
	var wg sync.WaitGroup
	var res QuotaResult
	var cronErr error
	wg.Go(func() { res, cronErr = q.Handle(context.Background(), events.EventBridgeEvent{}) })
	proxyErrs := make([]error, 3)
	for i := range proxyErrs {
		proxy := s.container()
		wg.Go(func() {
			// As the proxy does after a 401.
			_, proxyErrs[i] = proxy.AccessToken(context.Background(), "shared", codex.AccessOptions{Force: true, Rejected: tok.AccessToken})
		})
	}
	wg.Wait()
	if cronErr != nil || outcome(res, "shared").Status != StatusOK {
		t.Fatalf("cron: %+v, %v", res, cronErr)
	}
	for i, err := range proxyErrs {
		if err != nil {
			t.Errorf("proxy %d: %v", i, err)
		}
	}
	if st := s.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Errorf("refreshes = %d, reuse rejections = %d; want 1 and 0", st.Refreshes, st.ReuseRejections)
	}
}

// {} renews only due tokens and skips reauth_required accounts; a named,
// forced request refreshes; a reauth_required account is touched only when
// forced.
func TestKeepAlive_Moto_DueForcedAndReauth(t *testing.T) {
	s := newStack(t, 4*time.Hour)
	s.addAccount("due", 3*time.Hour)                // expires in 1h: inside the 2h window
	s.addAccount("skew", 4*time.Hour-2*time.Minute) // expires in 2 min: inside the refresh routine's own skew too
	s.addAccount("fresh", 0)                        // expires in 4h
	s.addAccount("marked", 3*time.Hour)
	s.mark("marked")
	k := &KeepAlive{Accounts: s.Secrets, Tokens: s.container(), States: s.states, Window: 2 * time.Hour, Logger: quiet}
	ctx := context.Background()
	dueBefore, freshBefore := s.current("due"), s.current("fresh")

	res, err := k.Handle(ctx, RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"due": StatusRefreshed, "skew": StatusRefreshed, "fresh": StatusNotDue, "marked": StatusSkipped}
	for _, o := range res.Accounts {
		if o.Status != want[o.Account] {
			t.Errorf("%s: %q (%s), want %q", o.Account, o.Status, o.Error, want[o.Account])
		}
	}
	st := s.Sim.Stats()
	if st.Refreshes != 2 || st.Accounts["id-due"].Refreshes != 1 || st.Accounts["id-skew"].Refreshes != 1 || st.Accounts["id-marked"].Refreshes != 0 {
		t.Errorf("refreshes: %d total, %+v", st.Refreshes, st.Accounts)
	}
	if after := s.current("due"); after.ID == dueBefore.ID || after.Auth.Token.Refresh == dueBefore.Auth.Token.Refresh ||
		!after.Auth.Token.ExpiresAt.After(time.Now().Add(3*time.Hour)) {
		t.Errorf("due: secret not rotated (version %s → %s)", dueBefore.ID, after.ID)
	}
	if s.current("fresh").ID != freshBefore.ID {
		t.Error("fresh: secret changed though not due")
	}

	// A second scheduled run finds nothing due.
	if res.Refreshed != 2 {
		t.Errorf("first run counted %d refreshes, want 2", res.Refreshed)
	}
	if res, err = k.Handle(ctx, RefreshRequest{}); err != nil || res.Refreshed != 0 || s.Sim.Stats().Refreshes != 2 {
		t.Errorf("second run: %+v, %v, %d refreshes", res, err, s.Sim.Stats().Refreshes)
	}

	// Named and forced: fresh is refreshed; marked only when forced.
	for _, req := range []RefreshRequest{{Account: "fresh", Force: true}, {Account: "marked"}, {Account: "marked", Force: true}} {
		if res, err = k.Handle(ctx, req); err != nil {
			t.Fatal(err)
		}
		wantStatus := StatusRefreshed
		if req == (RefreshRequest{Account: "marked"}) {
			wantStatus = StatusSkipped
		}
		if o := res.Accounts[0]; o.Status != wantStatus {
			t.Errorf("%+v: %+v, want %s", req, o, wantStatus)
		}
	}
	if got := s.state("marked"); got.Status != statestore.StatusOK {
		t.Errorf("marked after a successful forced refresh: %+v, want status ok", got)
	}
	st = s.Sim.Stats()
	if st.Accounts["id-fresh"].Refreshes != 1 || st.Accounts["id-marked"].Refreshes != 1 || st.ReuseRejections != 0 {
		t.Errorf("after forced runs: %+v", st.Accounts)
	}
}

// EventBridge delivers at least once: two containers handling the same
// scheduled run concurrently spend each due refresh token exactly once.
func TestKeepAlive_Moto_DuplicateDelivery(t *testing.T) {
	s := newStack(t, 4*time.Hour)
	for _, name := range []string{"one", "two", "three"} {
		s.addAccount(name, 3*time.Hour)
	}
	handlers := []*KeepAlive{
		{Accounts: s.Secrets, Tokens: s.container(), States: s.states, Window: 2 * time.Hour, Logger: quiet},
		{Accounts: s.Secrets, Tokens: s.container(), States: s.states, Window: 2 * time.Hour, Logger: quiet},
	}
	results := make([]RefreshResult, len(handlers))
	var wg sync.WaitGroup
	for i, h := range handlers {
		wg.Go(func() {
			var err error
			if results[i], err = h.Handle(context.Background(), RefreshRequest{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.Refreshed != 3 || r.Failed != 0 {
			t.Errorf("container %d: %+v", i, r)
		}
	}
	if st := s.Sim.Stats(); st.Refreshes != 3 || st.ReuseRejections != 0 {
		t.Errorf("refreshes = %d, reuse rejections = %d; want 3 and 0", st.Refreshes, st.ReuseRejections)
	}
	// A late redelivery after both finished refreshes nothing.
	if r, err := handlers[0].Handle(context.Background(), RefreshRequest{}); err != nil || r.NotDue != 3 {
		t.Errorf("redelivery: %+v, %v", r, err)
	}
}
