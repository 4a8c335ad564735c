package scheduled

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metrics"
)

// budgetTokens stands for the refresh routine's time budget: after n forced
// refreshes it refuses every further one with codex.ErrNoTime, as the
// routine does when the invocation's remaining time no longer fits an OAuth
// call and a durable write.
type budgetTokens struct {
	inner  codex.TokenSource
	mu     sync.Mutex
	left   int
	forced []string // accounts in the order their refresh was attempted
}

func (b *budgetTokens) AccessToken(ctx context.Context, account string, o codex.AccessOptions) (codex.Credentials, error) {
	if o.Force {
		b.mu.Lock()
		b.forced = append(b.forced, account)
		b.left--
		out := b.left < 0
		b.mu.Unlock()
		if out {
			return codex.Credentials{}, fmt.Errorf("refresh account %q: %w: 40s left, need 41s", account, codex.ErrNoTime)
		}
	}
	return b.inner.AccessToken(ctx, account, o)
}

// TestKeepAlive_Handle_SoonestFirstThenDeferred: with more due accounts than
// one run has time for, the run refreshes the soonest to expire first and
// reports the rest as deferred (counted as failures in the metric), each
// account with its own outcome.
func TestKeepAlive_Handle_SoonestFirstThenDeferred(t *testing.T) {
	const n, budget, conc = 50, 30, 4
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("acct-%02d", i))
	}
	f := newFixture(t, all...)
	now := time.Now()
	rank := map[string]int{} // 0 = expires soonest
	for i, a := range all {
		r := (i * 37) % n // a permutation: names' order is not expiry order
		rank[a] = r
		f.expires(a, now.Add(time.Duration(r+1)*time.Minute))
	}
	tokens := &budgetTokens{inner: f.tokens, left: budget}
	var emf bytes.Buffer
	k := &KeepAlive{Accounts: f.secrets, Tokens: tokens, Window: 2 * time.Hour, Concurrency: conc,
		Metrics: metrics.New(&emf), Logger: quiet}

	res, err := k.Handle(context.Background(), RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refreshed != budget || res.Deferred != n-budget || res.Failed != 0 {
		t.Fatalf("counts: refreshed %d, deferred %d, failed %d; want %d, %d, 0", res.Refreshed, res.Deferred, res.Failed, budget, n-budget)
	}
	if len(res.Accounts) != n {
		t.Fatalf("%d outcomes for %d accounts", len(res.Accounts), n)
	}
	for i, o := range res.Accounts {
		if o.Account != all[i] {
			t.Fatalf("outcome %d is %s, want %s (outcomes in the accounts' order)", i, o.Account, all[i])
		}
		switch o.Status {
		case StatusRefreshed:
			// Started in expiry order, conc at a time: only the last few
			// starts before the budget ran out may have overtaken each other.
			if rank[o.Account] >= budget+conc-1 {
				t.Errorf("%s (expiry rank %d) refreshed while sooner ones were deferred", o.Account, rank[o.Account])
			}
		case StatusDeferred:
			if rank[o.Account] < budget-(conc-1) {
				t.Errorf("%s (expiry rank %d) deferred though among the soonest", o.Account, rank[o.Account])
			}
			if !strings.Contains(o.Error, "next run") {
				t.Errorf("%s: deferred without saying what happens: %q", o.Account, o.Error)
			}
		default:
			t.Errorf("%s: %s (%s)", o.Account, o.Status, o.Error)
		}
	}
	if first := tokens.forced[0]; rank[first] >= conc {
		t.Errorf("first refresh attempted: %s (rank %d), want one of the %d soonest", first, rank[first], conc)
	}
	// Once the budget refused one, no later account was even tried.
	if len(tokens.forced) > budget+conc {
		t.Errorf("%d refresh attempts for a budget of %d: deferred accounts were still tried", len(tokens.forced), budget)
	}
	if !strings.Contains(emf.String(), fmt.Sprintf(`"RefreshFailures":%d`, n-budget)) {
		t.Errorf("EMF does not count deferred accounts as failures: %s", emf.String())
	}
}

// TestKeepAlive_Moto_FiftyAccounts: one scheduled run with 50 due accounts
// inside a Lambda-sized deadline (300 s; every refresh must still fit its
// budget) refreshes every one of them through the real refresh routine
// (moto, the strict simulator), each exactly once.
func TestKeepAlive_Moto_FiftyAccounts(t *testing.T) {
	s := newStack(t, 4*time.Hour)
	const n = 50
	var all []string
	for i := range n {
		name := fmt.Sprintf("acct-%02d", i)
		all = append(all, name)
		// Issued 3h ago, give or take: expiring within the 2h window, at
		// different times.
		s.addAccount(name, 3*time.Hour+time.Duration((i*37)%n)*time.Minute)
	}
	k := &KeepAlive{Accounts: s.Secrets, Tokens: s.container(), States: s.states, Window: 2 * time.Hour, Logger: quiet}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()

	start := time.Now()
	res, err := k.Handle(ctx, RefreshRequest{})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var notRefreshed []string
	for _, o := range res.Accounts {
		if o.Status != StatusRefreshed || !o.ExpiresAt.After(time.Now().Add(3*time.Hour)) {
			notRefreshed = append(notRefreshed, o.Account+": "+o.Status+" "+o.Error)
		}
	}
	if len(res.Accounts) != n || len(notRefreshed) > 0 || res.Refreshed != n {
		t.Fatalf("%d outcomes, %d refreshed; not refreshed: %v", len(res.Accounts), res.Refreshed, notRefreshed)
	}
	st := s.Sim.Stats()
	if st.Refreshes != n || st.ReuseRejections != 0 {
		t.Errorf("simulator: %d refreshes, %d reuse rejections; want %d, 0", st.Refreshes, st.ReuseRejections, n)
	}
	for _, a := range all {
		if got := st.Accounts["id-"+a].Refreshes; got != 1 {
			t.Errorf("%s refreshed %d times", a, got)
		}
	}
	t.Logf("%d due accounts refreshed in %s of a 300 s run (concurrency %d)", n, elapsed.Round(time.Millisecond), DefaultConcurrency)
}
