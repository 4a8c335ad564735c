package codex_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// events records what the refresher reports to operators.
type events struct {
	mu                          sync.Mutex
	notStored, outlived, reauth []string
}

func (e *events) RotatedTokenNotStored(a string) {
	e.mu.Lock()
	e.notStored = append(e.notStored, a)
	e.mu.Unlock()
}
func (e *events) LeaseOutlived(a string) {
	e.mu.Lock()
	e.outlived = append(e.outlived, a)
	e.mu.Unlock()
}
func (e *events) ReauthRequired(a, _ string) {
	e.mu.Lock()
	e.reauth = append(e.reauth, a)
	e.mu.Unlock()
}

// A waiter that rejected the newest token waits on the holder refreshing
// it; reads of AWSCURRENT meanwhile answer the previous version (valid for
// an hour, but superseded). The waiter must end on what the holder minted,
// never on the older version a stale read shows.
func TestRefresher_WaiterAdoptsOnlyWhatTheLeaseNames(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	st := &staleStore{Store: g.store, prev: map[string]string{}}
	g.store.Seed("a", g.oauth.Login("acct-w", time.Hour))
	holder := codex.NewRefresher(st, g.leases, g.oauth, auditOpts()...)
	waiter := codex.NewRefresher(st, g.leases, g.oauth, auditOpts()...)
	v0, _ := g.store.Current("a")
	// The waiter's container has the newest token after one refresh.
	first, err := holder.AccessToken(ctx, "a", codex.AccessOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.AccessToken(ctx, "a", codex.AccessOptions{}); err != nil {
		t.Fatal(err)
	}
	// The holder refreshes again, slowly; the waiter rejects the same token.
	g.oauth.Delay = time.Second
	done := make(chan codex.Credentials, 1)
	go func() {
		c, _ := holder.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: first.Access})
		done <- c
	}()
	time.Sleep(100 * time.Millisecond)
	got, err := waiter.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: first.Access})
	minted := <-done
	if err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if got.Access == v0.Auth.Token.Access {
		t.Fatal("the waiter adopted the superseded version a stale AWSCURRENT read returned")
	}
	if got.Access != minted.Access || g.oauth.Refreshes() != 2 || g.oauth.Reuses() != 0 {
		t.Fatalf("waiter got the holder's token: %v; refreshes %d (want 2), reuses %d", got.Access == minted.Access, g.oauth.Refreshes(), g.oauth.Reuses())
	}
}

// A caller with Wait set gives up on a holder that keeps the lease, and the
// account is not harmed: the call ends with ErrHolderBusy in about Wait.
func TestRefresher_AccessToken_WaitBounded(t *testing.T) {
	g := newRig()
	g.account("a", "acct-b", time.Minute) // due
	if _, err := g.leases.Acquire(context.Background(), "chatgpt:acct-b", "someone", time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := g.refresher().AccessToken(context.Background(), "a", codex.AccessOptions{Wait: 300 * time.Millisecond})
	if !errors.Is(err, codex.ErrHolderBusy) {
		t.Fatalf("err = %v, want ErrHolderBusy", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %s for a 300ms wait", d)
	}
	if g.oauth.Refreshes() != 0 {
		t.Fatal("refreshed under someone else's lease")
	}
}

// Minted tells a caller whether the token it got came from the token
// endpoint during its call: only the callers of that refresh hear so.
func TestRefresher_AccessToken_Minted(t *testing.T) {
	g := newRig()
	g.account("a", "acct-m", time.Minute) // due
	r := g.refresher()
	ctx := context.Background()
	c, err := r.AccessToken(ctx, "a", codex.AccessOptions{})
	if err != nil || !c.Minted || c.Version == "" {
		t.Fatalf("refresh: %+v, %v; want a minted token with its version", c, err)
	}
	if c, _ = r.AccessToken(ctx, "a", codex.AccessOptions{}); c.Minted {
		t.Fatal("a cached token reported as minted")
	}
	other := g.refresher()
	if c, _ = other.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: "something else"}); c.Minted {
		t.Fatal("a token adopted under the lease reported as minted")
	}
}

// refresh_token_reused ends a login at OpenAI: the account is marked and
// the alarm raised, even when AWSCURRENT shows another version (which a
// stale read or a write outside the protocol can make it show).
func TestRefresher_ReusedAlwaysMarksReauth(t *testing.T) {
	g := newRig()
	ev := &events{}
	g.account("a", "acct-r", time.Minute)
	r := g.refresher(codex.WithEvents(ev))
	first, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.store.Seed("a", g.oauth.Login("acct-r", time.Hour)) // outside the protocol
	g.oauth.Fail(&codex.OAuthError{Status: 400, Code: "refresh_token_reused"})
	_, err = r.AccessToken(context.Background(), "a", codex.AccessOptions{Force: true, Rejected: first.Access})
	if !errors.Is(err, codex.ErrReauthRequired) || len(ev.reauth) != 1 || g.states.reauth["a"] != "refresh_token_reused" {
		t.Fatalf("err = %v, alarms %v, state %q; want reauth_required everywhere", err, ev.reauth, g.states.reauth["a"])
	}
}

// An OAuth call that may have rotated without a readable answer raises the
// rotated-not-stored alarm; a definite transient error does not.
func TestRefresher_MaybeRotatedRaisesAlarm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		alarm bool
	}{
		{"502 from a gateway", &codex.OAuthError{Status: 502, MaybeRotated: true}, true},
		{"definite 503", &codex.OAuthError{Status: 503}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig()
			ev := &events{}
			g.account("a", "acct-o", time.Minute)
			g.oauth.Fail(tc.err)
			_, err := g.refresher(codex.WithEvents(ev)).AccessToken(context.Background(), "a", codex.AccessOptions{})
			if err == nil || (len(ev.notStored) == 1) != tc.alarm {
				t.Fatalf("err = %v, alarms %v; want an error and alarm %v", err, ev.notStored, tc.alarm)
			}
		})
	}
}

// A login whose refresh token a refresh already spent is refused by
// Replace, whatever the caller's check allows (import --replace), and
// stays refused after another login replaced the account.
func TestRefresher_Replace_RefusesSpentRefreshToken(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	old := g.oauth.Login("acct-s", time.Minute)
	g.store.Seed("a", old)
	r := g.refresher()
	if _, err := r.AccessToken(ctx, "a", codex.AccessOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Replace(ctx, "a", old, codex.ReplaceOptions{}); !errors.Is(err, codex.ErrSpentRefreshToken) {
		t.Fatalf("Replace with the spent login: %v, want ErrSpentRefreshToken", err)
	}
	if _, err := r.Replace(ctx, "a", g.oauth.Login("acct-s", time.Hour), codex.ReplaceOptions{}); err != nil {
		t.Fatalf("Replace with a new login: %v", err)
	}
	if _, err := r.Replace(ctx, "a", old, codex.ReplaceOptions{}); !errors.Is(err, codex.ErrSpentRefreshToken) {
		t.Fatalf("Replace with the spent login after a new one: %v, want ErrSpentRefreshToken", err)
	}
	if g.oauth.Reuses() != 0 {
		t.Fatal("reuse")
	}
}

// A login announced to a warm container (Forget) is read by id, never from
// a cached token of the previous login.
func TestRefresher_Forget(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	g.account("a", "acct-1", time.Hour)
	warm := g.refresher()
	before, _ := warm.AccessToken(ctx, "a", codex.AccessOptions{})
	id, err := g.refresher().Replace(ctx, "a", g.oauth.Login("acct-2", time.Hour), codex.ReplaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := warm.AccessToken(ctx, "a", codex.AccessOptions{}); c.AccountID != before.AccountID {
		t.Fatal("test premise: the warm container should still serve the old login before Forget")
	}
	warm.Forget("a", id)
	if c, _ := warm.AccessToken(ctx, "a", codex.AccessOptions{}); c.AccountID != "acct-2" || c.Version != id {
		t.Fatalf("after Forget: account %s version %s, want acct-2 %s", c.AccountID, c.Version, id)
	}
}
