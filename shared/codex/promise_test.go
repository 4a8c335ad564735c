package codex_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
)

// The tests in this file drive the refresh protocol through the ways a login
// was still lost or wedged under real AWS semantics: Secrets Manager writes
// failing for longer than a lease, clocks minutes apart, stale reads of
// AWSCURRENT, a lease key that changes with the secret's content, too little
// time to refresh, a loop of refreshes, an import racing a refresh. Each runs
// against moto (strict like AWS, see scripts/moto-serial.py) and the
// simulator, which revokes the whole login on a reuse, as OpenAI does: a
// reuse is a lost login. The scenarios themselves live in
// internal/simworld/promise.go, shared with the reliability matrix.

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
			o := w.WriteFailsLongerThanLease(t, "main", tc.noRenew)
			r1, r2 := o.First, o.Second
			st := w.Sim.Stats()
			t.Logf("first: %v; second: %v; refreshes %d, reuse %d, logins revoked %d", r1.Err, r2.Err, st.Refreshes, st.ReuseRejections, st.LoginsRevoked)

			if tc.noRenew {
				if st.LoginsRevoked != 1 {
					t.Fatalf("without renewal the login should be lost (the failure renewals prevent), revoked %d", st.LoginsRevoked)
				}
				return
			}
			if r1.Err != nil || r2.Err != nil {
				t.Fatalf("first: %v, second: %v", r1.Err, r2.Err)
			}
			if st.Refreshes != 1 || st.ReuseRejections != 0 || st.LoginsRevoked != 0 {
				t.Fatalf("refreshes %d, reuse %d, revoked %d; want 1, 0, 0", st.Refreshes, st.ReuseRejections, st.LoginsRevoked)
			}
			if o.Stored != r1.Creds.Access || r2.Creds.Access != r1.Creds.Access {
				t.Fatal("served tokens are not the stored one")
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
			o := w.ClockSkew(t, "main", skew, codex.WithTimeouts(testTimeouts()))
			r1, r2 := o.Holder, o.Waiter
			if r1.Err != nil || r2.Err != nil {
				t.Fatalf("holder: %v, waiter: %v", r1.Err, r2.Err)
			}
			if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
				t.Fatalf("refreshes %d, reuse %d; want 1, 0", st.Refreshes, st.ReuseRejections)
			}
			if r1.Creds.Access != r2.Creds.Access {
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
	res, waited := w.SilentTakeover(t, "main")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if waited < 5*time.Second {
		t.Fatalf("took over after %s, before the dead holder's 5 s lease could have passed on this clock", waited)
	}
	if st := w.Sim.Stats(); st.Refreshes != 1 || res.Creds.Access == "" {
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
	o := w.LeaseKeyChange(t, "main", "acct-after", codex.WithTimeouts(testTimeouts()))
	ra, rb := o.Fresh, o.Stale
	if ra.Err != nil || rb.Err != nil {
		t.Fatalf("fresh: %v, stale: %v", ra.Err, rb.Err)
	}
	st := w.Sim.Stats()
	if after := st.Accounts["acct-after"]; after.Refreshes != 1 || after.ReuseRejections != 0 {
		t.Fatalf("new login: refreshes %d, reuse %d; want 1, 0", after.Refreshes, after.ReuseRejections)
	}
	if ra.Creds.Access != rb.Creds.Access || rb.Creds.AccountID != "acct-after" {
		t.Fatalf("the stale container did not end on the new login's token (account %s)", rb.Creds.AccountID)
	}
}

// 7. A container with too little time left to refresh still reads the
// secret once and serves a token another container stored meanwhile.
func TestRefresher_NoTimeStillAdopts(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-notime")
	res, stored := w.NoTime(t, "main", codex.WithTimeouts(testTimeouts()))
	if res.Err != nil {
		t.Fatalf("with 2 s left and a newer token stored: %v", res.Err)
	}
	if res.Creds.Access != stored {
		t.Fatal("did not adopt the stored token")
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 {
		t.Fatalf("refreshes %d, want 2", st.Refreshes)
	}
}

// Issue 25, item 2: a waiter on the holder of the newest token's refresh,
// on a secret whose AWSCURRENT reads lag, ends on what the holder minted,
// never on the superseded version a stale read shows (which the upstream
// would reject, putting the account into a cooldown).
func TestRefresher_WaiterOnStaleReads(t *testing.T) {
	for _, tc := range []struct {
		name        string
		currentless bool
	}{
		{name: "the lease's name"},
		{name: "negative control reading AWSCURRENT", currentless: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.WithStaleReads()
			v0 := w.Login(t, "main", "acct-waiter", 0)
			waiter, holder := w.WaiterOnStaleReads(t, "main", tc.currentless, codex.WithTimeouts(testTimeouts()))
			if waiter.Err != nil || holder.Err != nil {
				t.Fatalf("waiter %v, holder %v", waiter.Err, holder.Err)
			}
			superseded := waiter.Creds.Access == v0.AccessToken
			if tc.currentless {
				if !superseded {
					t.Fatal("the negative control did not adopt the superseded version: the stack served no stale read")
				}
				return
			}
			if superseded || waiter.Creds.Access != holder.Creds.Access {
				t.Fatalf("waiter got the superseded version %v, the holder's token %v", superseded, waiter.Creds.Access == holder.Creds.Access)
			}
			if st := w.Sim.Stats(); st.ReuseRejections != 0 || st.Refreshes != 2 {
				t.Fatalf("refreshes %d, reuse %d; want 2, 0", st.Refreshes, st.ReuseRejections)
			}
		})
	}
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
			lastErr := w.StaleReads("main", tc.currentless)
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
	served, rl, err := w.RefreshLoop("main", 3, codex.WithTimeouts(testTimeouts()), rate)
	if err != nil {
		t.Fatal(err)
	}
	if served != 2 || rl == nil || !errors.Is(rl, codex.ErrRefreshRateLimited) {
		t.Fatalf("served %d, refusal %v; want 2 refreshes, then a RateLimitedError", served, rl)
	}
	if d := time.Until(rl.RetryAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("retry at %s from now, want about an hour", d)
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 {
		t.Fatalf("refreshes %d, want 2", st.Refreshes)
	}
}

// 3. An import of the same auth.json while a refresh is in flight waits for
// the lease, then finds the file's refresh token in the stored lineage of
// spent tokens and is refused, before the caller's own check: it can no
// longer put back the refresh token the refresh just spent.
func TestRefresher_ImportRacingRefresh(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	tok := w.ImportExpiring(t, "main", "acct-race")
	o := w.ImportRacingRefresh(t, "main", tok, codex.WithTimeouts(testTimeouts()))
	if !errors.Is(o.Import, codex.ErrSpentRefreshToken) || !o.Waited {
		t.Fatalf("import during a refresh: err = %v, waited %v; want it to wait and be refused", o.Import, o.Waited)
	}
	if o.Refresh.Err != nil {
		t.Fatal(o.Refresh.Err)
	}
	if _, err := w.refresher().AccessToken(context.Background(), "main", codex.AccessOptions{Force: true}); err != nil {
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
	res, key := w.UnlabelledPending(t, "main", "acct-label")
	if res.Err != nil {
		t.Fatalf("next holder: %v", res.Err)
	}
	cur, err := w.Secrets.LoadCurrent(ctx, "main")
	if err != nil || cur.Auth.Token.Access != res.Creds.Access {
		t.Fatalf("served token is not the stored one (err %v)", err)
	}
	if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes %d, reuse %d; want 1 (the new login), 0", st.Refreshes, st.ReuseRejections)
	}
	leaser := dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table)
	l, err := leaser.Acquire(ctx, key, "inspector", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Pending != (codex.Pending{}) {
		t.Fatalf("intent left on the lease: %+v", l.Pending)
	}
}
