package codex_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
)

// The tests in this file drive the refresh protocol through the ways a login
// was still lost or wedged under real AWS semantics: Secrets Manager writes
// failing for longer than a lease, clocks minutes apart, stale reads of
// AWSCURRENT, a lease key that changes with the secret's content, too little
// time to refresh, a loop of refreshes, an import racing a refresh. Each runs
// against moto (strict like AWS, see scripts/moto-serial.py) and the
// simulator, which revokes the whole login on a reuse, as OpenAI does: a
// reuse is a lost login.

// quickTimeouts: OAuth 1 s, persist 1 s, lease 5 s (the least the refresher
// allows for them), so that faults outlast the lease within seconds.
func quickTimeouts() codex.Option { return codex.WithTimeouts(time.Second, time.Second, 5*time.Second) }

// refresherOn builds a container's Refresher over cfg with lease wrapped.
func (w world) refresherOn(cfg aws.Config, lease func(codex.Leaser) codex.Leaser, opts ...codex.Option) *codex.Refresher {
	var l codex.Leaser = dynamolease.New(dynamodb.NewFromConfig(cfg), w.Table)
	if lease != nil {
		l = lease(l)
	}
	return codex.NewRefresher(secretstore.New(secretsmanager.NewFromConfig(cfg), w.Prefix), l,
		&codex.OAuthClient{TokenURL: w.TokenURL()}, append([]codex.Option{codex.WithLogger(discard())}, opts...)...)
}

// noRenewal is the negative control for renewals: every renewal fails, as if
// the holder had none.
type noRenewal struct{ codex.Leaser }

func (noRenewal) Renew(context.Context, *codex.Lease, time.Duration) error {
	return errors.New("renewal disabled (negative control)")
}

type callResult struct {
	c   codex.Credentials
	err error
}

func call(r *codex.Refresher, ctx context.Context, account string, o codex.AccessOptions) chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		c, err := r.AccessToken(ctx, account, o)
		ch <- callResult{c, err}
	}()
	return ch
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// 1. A holder that spent the refresh token keeps its lease alive while its
// Secrets Manager writes fail for far longer than the lease; another
// container waits instead of spending the same token, and adopts the stored
// one when the writes recover.
func TestRefresher_WriteFailsLongerThanLease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noRenew bool
	}{
		{name: "renewed"},
		{name: "negative control without renewal", noRenew: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.ImportExpiring(t, "main", "acct-long-write")
			tr := awsfault.New(nil)
			tr.Inject("PutSecretValue", awsfault.Fault{Action: awsfault.Respond, Status: 400,
				Body: awsfault.ErrorBody("ThrottlingException", "Rate exceeded")})
			var lease func(codex.Leaser) codex.Leaser
			if tc.noRenew {
				lease = func(l codex.Leaser) codex.Leaser { return noRenewal{l} }
			}
			a := w.refresherOn(awsfault.NoRetries(tr.Wrap(w.AWS)), lease, quickTimeouts())
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			first := call(a, ctx, "main", codex.AccessOptions{})
			waitUntil(t, "the first holder to spend the refresh token", func() bool { return w.Sim.Stats().Refreshes == 1 })

			time.Sleep(12 * time.Second) // writes keep failing: over twice the 5 s lease
			second := call(w.refresherOn(w.AWS, nil, quickTimeouts()), ctx, "main", codex.AccessOptions{})
			time.Sleep(8 * time.Second) // the second container watches the lease for more than its duration
			tr.Clear("PutSecretValue")
			r1, r2 := <-first, <-second
			st := w.Sim.Stats()
			t.Logf("first: %v; second: %v; refreshes %d, reuse %d, logins revoked %d", r1.err, r2.err, st.Refreshes, st.ReuseRejections, st.LoginsRevoked)

			if tc.noRenew {
				if st.LoginsRevoked != 1 {
					t.Fatalf("without renewal the login should be lost (the failure renewals prevent), revoked %d", st.LoginsRevoked)
				}
				return
			}
			if r1.err != nil || r2.err != nil {
				t.Fatalf("first: %v, second: %v", r1.err, r2.err)
			}
			if st.Refreshes != 1 || st.ReuseRejections != 0 || st.LoginsRevoked != 0 {
				t.Fatalf("refreshes %d, reuse %d, revoked %d; want 1, 0, 0", st.Refreshes, st.ReuseRejections, st.LoginsRevoked)
			}
			cur, err := w.Secrets.LoadCurrent(ctx, "main")
			if err != nil || cur.Auth.Token.Access != r1.c.Access || r2.c.Access != r1.c.Access {
				t.Fatalf("served tokens are not the stored one (err %v)", err)
			}
		})
	}
}

// 5. A holder whose clock is five minutes off either way does not make its
// lease look expired or eternal to another container: while it refreshes,
// the other waits and adopts; nobody spends the token twice.
func TestRefresher_ClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.ImportExpiring(t, "main", "acct-skew")
			w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 2 * time.Second, Count: 1})
			// What other machines see of a holder's clock is what it writes
			// on the lease item.
			skewed := func() time.Time { return time.Now().Add(skew) }
			holder := codex.NewRefresher(w.Secrets, dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table, dynamolease.WithClock(skewed)),
				&codex.OAuthClient{TokenURL: w.TokenURL()}, codex.WithLogger(discard()), codex.WithTimeouts(testTimeouts()))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			first := call(holder, ctx, "main", codex.AccessOptions{})
			waitUntil(t, "the holder to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == 1 })
			second := call(w.refresher(), ctx, "main", codex.AccessOptions{})
			r1, r2 := <-first, <-second
			if r1.err != nil || r2.err != nil {
				t.Fatalf("holder: %v, waiter: %v", r1.err, r2.err)
			}
			if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
				t.Fatalf("refreshes %d, reuse %d; want 1, 0", st.Refreshes, st.ReuseRejections)
			}
			if r1.c.Access != r2.c.Access {
				t.Fatal("the waiter did not adopt the holder's token")
			}
		})
	}
}

// A holder that died is still taken over, by a waiter that watched its lease
// stand still for the lease's duration on its own clock, whatever the dead
// holder's clock said.
func TestRefresher_TakeoverAfterSilentLease(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-takeover")
	v, err := w.Secrets.LoadCurrent(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	// A dead holder whose clock was an hour behind: its expires_at lies.
	past := func() time.Time { return time.Now().Add(-time.Hour) }
	dead := dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table, dynamolease.WithClock(past))
	if _, err := dead.Acquire(context.Background(), codex.LeaseKey("main", v.Auth), "dead-holder", 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := w.refresherOn(w.AWS, nil, quickTimeouts()).AccessToken(context.Background(), "main", codex.AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 5*time.Second {
		t.Fatalf("took over after %s, before the dead holder's 5 s lease could have passed on this clock", waited)
	}
	if st := w.Sim.Stats(); st.Refreshes != 1 || c.Access == "" {
		t.Fatalf("refreshes %d, want 1", st.Refreshes)
	}
}

// 6. The lease key comes from the secret's content. A container whose cache
// still holds the previous login locks the previous key; under it, it finds
// that the secret now belongs under another key, and retakes that one
// instead of refreshing beside a container that holds it.
func TestRefresher_LeaseKeyChangesUnderHolder(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-before")
	ctx := context.Background()
	stale := w.refresher()
	old, err := stale.AccessToken(ctx, "main", codex.AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another ChatGPT account is imported under the same name (--replace).
	w.ImportExpiring(t, "main", "acct-after")
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: time.Second, Count: 1})
	fresh := w.refresher()
	a := call(fresh, ctx, "main", codex.AccessOptions{})
	waitUntil(t, "the fresh container to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == 1 })
	b := call(stale, ctx, "main", codex.AccessOptions{Force: true, Rejected: old.Access})
	ra, rb := <-a, <-b
	if ra.err != nil || rb.err != nil {
		t.Fatalf("fresh: %v, stale: %v", ra.err, rb.err)
	}
	st := w.Sim.Stats()
	if after := st.Accounts["acct-after"]; after.Refreshes != 1 || after.ReuseRejections != 0 {
		t.Fatalf("new login: refreshes %d, reuse %d; want 1, 0", after.Refreshes, after.ReuseRejections)
	}
	if ra.c.Access != rb.c.Access || rb.c.AccountID != "acct-after" {
		t.Fatalf("the stale container did not end on the new login's token (account %s)", rb.c.AccountID)
	}
}

// 7. A container with too little time left to refresh still reads the
// secret once and serves a token another container stored meanwhile.
func TestRefresher_NoTimeStillAdopts(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-notime")
	var ahead atomic.Int64 // how far the short container's clock runs ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	short := w.refresher(codex.WithClock(clock))
	ctx := context.Background()
	if _, err := short.AccessToken(ctx, "main", codex.AccessOptions{}); err != nil {
		t.Fatal(err) // fills its cache with a token good for an hour (one refresh)
	}
	ahead.Store(int64(58 * time.Minute)) // now that token is inside its refresh skew
	w.Sim.Advance(30 * time.Minute)      // the next token outlives it by half an hour
	if _, err := w.refresher().AccessToken(ctx, "main", codex.AccessOptions{Force: true}); err != nil {
		t.Fatal(err) // another container refreshes and stores
	}
	dl, cancel := context.WithDeadline(ctx, clock().Add(2*time.Second)) // far less than a refresh needs
	defer cancel()
	c, err := short.AccessToken(dl, "main", codex.AccessOptions{})
	if err != nil {
		t.Fatalf("with 2 s left and a newer token stored: %v", err)
	}
	cur, _ := w.Secrets.LoadCurrent(ctx, "main")
	if c.Access != cur.Auth.Token.Access {
		t.Fatal("did not adopt the stored token")
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 {
		t.Fatalf("refreshes %d, want 2", st.Refreshes)
	}
}

// currentless hides the lease item's names of the current versions: the
// negative control for stale reads, deriving from AWSCURRENT as before.
type currentless struct{ codex.Leaser }

func (c currentless) Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error) {
	l, err := c.Leaser.Acquire(ctx, key, owner, ttl, stale)
	if l != nil {
		l.Current = nil
	}
	return l, err
}

// 8. Secrets Manager may serve the previous AWSCURRENT for a while after a
// promote. Containers refreshing one after the other derive from the version
// the lease item names, read by id, never from a stale AWSCURRENT whose
// refresh token is spent.
func TestRefresher_StaleReadsOfAWSCURRENT(t *testing.T) {
	for _, tc := range []struct {
		name        string
		currentless bool
	}{
		{name: "named version"},
		{name: "negative control reading AWSCURRENT", currentless: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Access tokens live 4 minutes, inside the 5-minute refresh skew:
			// every call refreshes.
			w := newWorld(t, openaisim.Options{AccessTTL: 4 * time.Minute})
			w.WithStaleReads()
			w.Login(t, "main", "acct-stale", 0)
			var lease func(codex.Leaser) codex.Leaser
			if tc.currentless {
				lease = func(l codex.Leaser) codex.Leaser { return currentless{l} }
			}
			containers := []*codex.Refresher{w.refresherOn(w.AWS, lease), w.refresherOn(w.AWS, lease)}
			ctx := context.Background()
			var lastErr error
			for i := range 6 {
				if _, err := containers[i%2].AccessToken(ctx, "main", codex.AccessOptions{}); err != nil {
					lastErr = err
				}
			}
			st := w.Sim.Stats()
			t.Logf("refreshes %d, reuse %d, revoked %d, last error %v", st.Refreshes, st.ReuseRejections, st.LoginsRevoked, lastErr)
			if tc.currentless {
				if st.LoginsRevoked == 0 {
					t.Fatal("the negative control saw no reuse: the stack served no stale read")
				}
				return
			}
			if lastErr != nil || st.Refreshes != 6 || st.ReuseRejections != 0 {
				t.Fatalf("want 6 refreshes, no reuse, no error")
			}
		})
	}
}

// 9. The per-account refresh budget is shared by every container through
// the lease item and refuses, with a time, what would exceed it.
func TestRefresher_RefreshBudgetAcrossContainers(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-budget")
	rate := codex.WithRefreshRate(codex.RefreshRate{Burst: 2, Every: time.Hour})
	ctx := context.Background()
	for i := range 2 {
		if _, err := w.refresher(rate).AccessToken(ctx, "main", codex.AccessOptions{Force: true}); err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
	}
	_, err := w.refresher(rate).AccessToken(ctx, "main", codex.AccessOptions{Force: true})
	var rl *codex.RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, codex.ErrRefreshRateLimited) {
		t.Fatalf("third refresh: err = %v, want RateLimitedError", err)
	}
	if d := time.Until(rl.RetryAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("retry at %s from now, want about an hour", d)
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 {
		t.Fatalf("refreshes %d, want 2", st.Refreshes)
	}
}

// 3. An import of the same auth.json while a refresh is in flight waits for
// the lease, then finds the refreshed token current and is refused: it can
// no longer put back the refresh token the refresh just spent.
func TestRefresher_ImportRacingRefresh(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	tok := w.ImportExpiring(t, "main", "acct-race")
	file, err := codex.ParseAuthFile("main", w.Sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 2 * time.Second, Count: 1})
	ctx := context.Background()
	refresh := call(w.refresher(), ctx, "main", codex.AccessOptions{})
	waitUntil(t, "the refresh to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == 1 })

	errOlder := errors.New("refused: the account holds a newer token of this login")
	waited := false
	_, err = w.refresher().Replace(ctx, "main", file, codex.ReplaceOptions{
		Waiting: func() { waited = true },
		Check: func(cur *codex.Version) error {
			if cur.Auth.Token.Refresh != file.Token.Refresh {
				return errOlder
			}
			return nil
		},
	})
	if !errors.Is(err, errOlder) || !waited {
		t.Fatalf("import during a refresh: err = %v, waited %v; want it to wait and be refused", err, waited)
	}
	if r := <-refresh; r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := w.refresher().AccessToken(ctx, "main", codex.AccessOptions{Force: true}); err != nil {
		t.Fatalf("next refresh: %v", err)
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes %d, reuse %d; want 2, 0", st.Refreshes, st.ReuseRejections)
	}
}

// 2. A holder died after writing its pending version; a login stored
// outside the lease (as imports were) took the pending label and moved
// AWSCURRENT, leaving the intent pointing at a version without any label,
// which DescribeSecret no longer lists. The next holder clears the intent
// (its base is no longer current) and serves the account.
func TestRefresher_PendingVersionLostItsLabel(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-label")
	ctx := context.Background()
	v0, err := w.Secrets.LoadCurrent(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	key := codex.LeaseKey("main", v0.Auth)
	leaser := dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table)
	dead, err := leaser.Acquire(ctx, key, "dead-holder", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 := codex.NewVersionID()
	if err := leaser.SetPending(ctx, dead, codex.Pending{Account: "main", Version: p1, Base: v0.ID}, codex.RefreshBudget{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Secrets.WritePending(ctx, "main", p1, v0.Auth); err != nil {
		t.Fatal(err)
	}
	// The old import path: its own pending version (the label moves off p1),
	// then a promote from v0, all without the lease.
	tok := w.Sim.AddAccount(openaisim.Account{ID: "acct-label", Plan: "plus"})
	login, err := codex.ParseAuthFile("main", w.Sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	p2 := codex.NewVersionID()
	if err := w.Secrets.WritePending(ctx, "main", p2, login); err != nil {
		t.Fatal(err)
	}
	if err := w.Secrets.Promote(ctx, "main", v0.ID, p2); err != nil {
		t.Fatal(err)
	}

	c, err := w.refresherOn(w.AWS, nil, quickTimeouts()).AccessToken(ctx, "main", codex.AccessOptions{Force: true})
	if err != nil {
		t.Fatalf("next holder: %v", err)
	}
	cur, err := w.Secrets.LoadCurrent(ctx, "main")
	if err != nil || cur.Auth.Token.Access != c.Access {
		t.Fatalf("served token is not the stored one (err %v)", err)
	}
	if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes %d, reuse %d; want 1 (the new login), 0", st.Refreshes, st.ReuseRejections)
	}
	l, err := leaser.Acquire(ctx, key, "inspector", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Pending != (codex.Pending{}) {
		t.Fatalf("intent left on the lease: %+v", l.Pending)
	}
}
