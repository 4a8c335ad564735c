package codex

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type rig struct {
	store  *memStore
	leases *memLeaser
	oauth  *fakeOAuth
	states *memStates
}

type memStates struct {
	mu     sync.Mutex
	reauth map[string]string
}

func (m *memStates) MarkReauthRequired(_ context.Context, account, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reauth[account] = reason
	return nil
}

func newRig() *rig {
	return &rig{
		store: newMemStore(), leases: newMemLeaser(time.Now), oauth: newFakeOAuth(time.Now),
		states: &memStates{reauth: map[string]string{}},
	}
}

// refresher is one container's Refresher: its own cache, shared backends.
func (g *rig) refresher(opts ...Option) *Refresher {
	base := []Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithAccountStates(g.states),
		WithTimeouts(2*time.Second, 2*time.Second, 5*time.Second),
	}
	return NewRefresher(g.store, g.leases, g.oauth, append(base, opts...)...)
}

func (g *rig) account(name, id string, expiresIn time.Duration) {
	g.store.put(name, g.oauth.login(id, expiresIn))
}

func TestRefresher_AccessToken_WarmPathMakesNoCalls(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", time.Hour)
	r := g.refresher()
	ctx := context.Background()
	first, err := r.AccessToken(ctx, "a", AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := g.store.calls.Load() + g.leases.calls.Load()
	for range 100 {
		c, err := r.AccessToken(ctx, "a", AccessOptions{})
		if err != nil || c.Access != first.Access {
			t.Fatalf("warm call: %v, same token %v", err, c.Access == first.Access)
		}
	}
	if got := g.store.calls.Load() + g.leases.calls.Load() - before; got != 0 {
		t.Fatalf("warm path made %d backend calls, want 0", got)
	}
	if first.AccountID != "acct-a" || first.Plan != "plus" {
		t.Fatalf("credentials = %+v", first)
	}
}

func TestRefresher_AccessToken_ContainersShareOneRefresh(t *testing.T) {
	for _, tc := range []struct {
		name        string
		noLease     bool
		wantReuse   bool
		wantRefresh int64
	}{
		{name: "lease", wantRefresh: 1},
		{name: "negative control without lease", noLease: true, wantReuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig()
			g.leases.always = tc.noLease
			g.oauth.delay = 20 * time.Millisecond // a realistic round trip widens the race
			g.account("a", "acct-a", time.Minute) // inside the 5 min skew: expired
			const containers, callers = 4, 16
			var wg sync.WaitGroup
			errs := make(chan error, containers*callers)
			for range containers {
				r := g.refresher()
				for range callers {
					wg.Go(func() {
						if _, err := r.AccessToken(context.Background(), "a", AccessOptions{}); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			failed := 0
			for err := range errs {
				failed++
				if !tc.noLease {
					t.Error(err)
				}
			}
			reuses := g.oauth.reuses.Load()
			if tc.wantReuse {
				if reuses == 0 {
					t.Fatalf("negative control: no reuse without the lease; the test cannot fail")
				}
				return
			}
			if got := g.oauth.refreshes.Load(); got != tc.wantRefresh || reuses != 0 || failed != 0 {
				t.Fatalf("refreshes=%d reuses=%d failed=%d, want %d/0/0", got, reuses, failed, tc.wantRefresh)
			}
			if !g.store.currentToken("a").ValidAt(time.Now(), 5*time.Minute) {
				t.Fatal("stored token is not the fresh one")
			}
		})
	}
}

func TestRefresher_AccessToken_ForcedNeverReturnsRejected(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", time.Hour)
	r1, r2 := g.refresher(), g.refresher()
	ctx := context.Background()
	c1, _ := r1.AccessToken(ctx, "a", AccessOptions{})
	c2, err := r2.AccessToken(ctx, "a", AccessOptions{Force: true, Rejected: c1.Access})
	if err != nil || c2.Access == c1.Access {
		t.Fatalf("forced refresh: err=%v same=%v", err, c2.Access == c1.Access)
	}
	// Container 1 gets the same rejection: it adopts container 2's token.
	c3, err := r1.AccessToken(ctx, "a", AccessOptions{Force: true, Rejected: c1.Access})
	if err != nil || c3.Access != c2.Access {
		t.Fatalf("second container: err=%v adopted=%v", err, c3.Access == c2.Access)
	}
	if n := g.oauth.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
}

func TestRefresher_AccessToken_TerminalErrorMarksReauth(t *testing.T) {
	g := newRig()
	g.account("dead", "acct-dead", 0)
	g.account("alive", "acct-alive", 0)
	// Spend dead's refresh token behind our back: the next refresh is a reuse.
	dead := g.store.currentToken("dead")
	if _, err := g.oauth.Refresh(context.Background(), dead.Refresh); err != nil {
		t.Fatal(err)
	}
	r := g.refresher()
	_, err := r.AccessToken(context.Background(), "dead", AccessOptions{})
	var re *ReauthError
	if !errors.As(err, &re) || !errors.Is(err, ErrReauthRequired) || re.Reason != "refresh_token_reused" {
		t.Fatalf("err = %v, want ReauthError(refresh_token_reused)", err)
	}
	if g.states.reauth["dead"] != "refresh_token_reused" {
		t.Fatalf("state not recorded: %v", g.states.reauth)
	}
	calls := g.store.calls.Load() + g.leases.calls.Load()
	if _, err := r.AccessToken(context.Background(), "dead", AccessOptions{}); !errors.Is(err, ErrReauthRequired) {
		t.Fatalf("second call: %v", err)
	}
	if n := g.store.calls.Load() + g.leases.calls.Load() - calls; n != 0 {
		t.Fatalf("fail-fast made %d calls", n)
	}
	// Another container learns it from the lease mark, without calling OAuth.
	before := g.oauth.reuses.Load()
	if _, err := g.refresher().AccessToken(context.Background(), "dead", AccessOptions{}); !errors.Is(err, ErrReauthRequired) {
		t.Fatalf("other container: %v", err)
	}
	if g.oauth.reuses.Load() != before {
		t.Fatal("other container spent the dead token again")
	}
	if _, err := r.AccessToken(context.Background(), "alive", AccessOptions{}); err != nil {
		t.Fatalf("other account affected: %v", err)
	}
	// A new login (import) lifts the mark.
	g.store.put("dead", g.oauth.login("acct-dead", 0))
	if _, err := g.refresher().AccessToken(context.Background(), "dead", AccessOptions{}); err != nil {
		t.Fatalf("after re-import: %v", err)
	}
}

func TestRefresher_AccessToken_TransientErrorKeepsToken(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	before := g.store.currentToken("a")
	g.oauth.fail = &OAuthError{Status: 503, Message: "down"}
	r := g.refresher()
	if _, err := r.AccessToken(context.Background(), "a", AccessOptions{}); err == nil || errors.Is(err, ErrReauthRequired) {
		t.Fatalf("err = %v, want a transient failure", err)
	}
	if g.store.currentToken("a").Refresh != before.Refresh {
		t.Fatal("stored refresh token changed after a failed refresh")
	}
	g.oauth.fail = nil
	if _, err := r.AccessToken(context.Background(), "a", AccessOptions{}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestRefresher_AccessToken_RecoversPendingVersion(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	// Holder 1 refreshes and writes, then "crashes" before promote.
	g.store.failPromote = errors.New("killed")
	r1 := g.refresher(WithTimeouts(200*time.Millisecond, 200*time.Millisecond, time.Second))
	// The holder keeps trying to store until its (Lambda) deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	if _, err := r1.AccessToken(ctx, "a", AccessOptions{}); err == nil {
		t.Fatal("holder 1 should fail before promote")
	}
	if n := g.oauth.refreshes.Load(); n != 1 {
		t.Fatalf("holder 1 made %d refreshes, want 1 (written, not promoted)", n)
	}
	g.store.mu.Lock()
	g.store.failPromote = nil
	g.store.mu.Unlock()
	// The lease is kept (never released after an unsaved refresh) and has
	// run out with the holder's deadline.
	c, err := g.refresher().AccessToken(context.Background(), "a", AccessOptions{})
	if err != nil {
		t.Fatalf("next holder: %v", err)
	}
	if n, reuse := g.oauth.refreshes.Load(), g.oauth.reuses.Load(); n != 1 || reuse != 0 {
		t.Fatalf("refreshes=%d reuses=%d: want the pending version promoted, not a new refresh", n, reuse)
	}
	if g.store.currentToken("a").Access != c.Access {
		t.Fatal("recovered token is not current")
	}
}

func TestRefresher_AccessToken_NoTimeToRefresh(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := g.refresher().AccessToken(ctx, "a", AccessOptions{})
	if !errors.Is(err, ErrNoTime) {
		t.Fatalf("err = %v, want ErrNoTime", err)
	}
	if g.oauth.refreshes.Load() != 0 || g.leases.calls.Load() != 0 {
		t.Fatal("a refresh was started without the time to finish it")
	}
}

func TestRefresher_AccessToken_UnknownAccount(t *testing.T) {
	g := newRig()
	if _, err := g.refresher().AccessToken(context.Background(), "nope", AccessOptions{}); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("err = %v", err)
	}
}

// failingRenewal is a lease whose renewals never land.
type failingRenewal struct{ *memLeaser }

func (failingRenewal) Renew(context.Context, *Lease, time.Duration) error {
	return errors.New("renewal not confirmed")
}

// Once the refresh token is spent, no failure after it (here: the promote
// failing until the lease may have passed) leads to a second refresh.
func TestRefresher_AccessToken_NeverRefreshesTwiceAfterSpending(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", time.Minute)
	g.store.mu.Lock()
	g.store.failPromote = errors.New("throttled")
	g.store.mu.Unlock()
	r := NewRefresher(g.store, failingRenewal{g.leases}, g.oauth,
		WithLogger(slog.New(slog.DiscardHandler)), WithTimeouts(200*time.Millisecond, 200*time.Millisecond, 3500*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.AccessToken(ctx, "a", AccessOptions{}); !errors.Is(err, errLeasePassed) {
		t.Fatalf("err = %v, want the holder to stop writing once its lease may have passed", err)
	}
	if n, reused := g.oauth.refreshes.Load(), g.oauth.reuses.Load(); n != 1 || reused != 0 {
		t.Fatalf("OAuth refreshes %d, reuses %d; want 1, 0", n, reused)
	}
}
