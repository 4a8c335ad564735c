package codex_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/shared/codex"
)

// rig is one world in memory (internal/codexmem): the store, the lease and
// the token endpoint every container of a test shares.
type rig struct {
	store  *codexmem.Store
	leases *codexmem.Leaser
	oauth  *codexmem.OAuth
	states *memStates
}

type memStates struct {
	mu     sync.Mutex
	reauth map[string]string
	stored []string // VersionStored calls, account=version
}

func (m *memStates) MarkReauthRequired(_ context.Context, account, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reauth[account] = reason
	return nil
}

func (m *memStates) VersionStored(_ context.Context, account, version string, login bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stored = append(m.stored, account+"="+version)
	if login {
		delete(m.reauth, account)
	}
	return nil
}

func newRig() *rig {
	return &rig{
		store: codexmem.NewStore(), leases: codexmem.NewLeaser(time.Now), oauth: codexmem.NewOAuth(time.Now),
		states: &memStates{reauth: map[string]string{}},
	}
}

// auditOpts are the options of the tests' Refreshers: no log output, and short
// budgets (OAuth 2 s, persist 2 s, lease 5 s).
func auditOpts() []codex.Option {
	return []codex.Option{
		codex.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		codex.WithTimeouts(2*time.Second, 2*time.Second, 5*time.Second),
	}
}

// refresher is one container's codex.Refresher: its own cache, shared backends.
func (g *rig) refresher(opts ...codex.Option) *codex.Refresher {
	base := append(auditOpts(), codex.WithAccountStates(g.states))
	return codex.NewRefresher(g.store, g.leases, g.oauth, append(base, opts...)...)
}

func (g *rig) account(name, id string, expiresIn time.Duration) {
	g.store.Seed(name, g.oauth.Login(id, expiresIn))
}

// current is account's stored token.
func (g *rig) current(t *testing.T, account string) codex.Token {
	t.Helper()
	v, err := g.store.Current(account)
	if err != nil {
		t.Fatal(err)
	}
	return v.Auth.Token
}

func TestRefresher_AccessToken_WarmPathMakesNoCalls(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", time.Hour)
	r := g.refresher()
	ctx := context.Background()
	first, err := r.AccessToken(ctx, "a", codex.AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := g.store.Calls() + g.leases.Calls()
	for range 100 {
		c, err := r.AccessToken(ctx, "a", codex.AccessOptions{})
		if err != nil || c.Access != first.Access {
			t.Fatalf("warm call: %v, same token %v", err, c.Access == first.Access)
		}
	}
	if got := g.store.Calls() + g.leases.Calls() - before; got != 0 {
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
			g.leases.ExcludeNothing = tc.noLease
			g.oauth.Delay = 20 * time.Millisecond // a realistic round trip widens the race
			g.account("a", "acct-a", time.Minute) // inside the 5 min skew: expired
			const containers, callers = 4, 16
			var wg sync.WaitGroup
			errs := make(chan error, containers*callers)
			for range containers {
				r := g.refresher()
				for range callers {
					wg.Go(func() {
						if _, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{}); err != nil {
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
			reuses := g.oauth.Reuses()
			if tc.wantReuse {
				if reuses == 0 {
					t.Fatalf("negative control: no reuse without the lease; the test cannot fail")
				}
				return
			}
			if got := g.oauth.Refreshes(); got != tc.wantRefresh || reuses != 0 || failed != 0 {
				t.Fatalf("refreshes=%d reuses=%d failed=%d, want %d/0/0", got, reuses, failed, tc.wantRefresh)
			}
			if !g.current(t, "a").ValidAt(time.Now(), 5*time.Minute) {
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
	c1, _ := r1.AccessToken(ctx, "a", codex.AccessOptions{})
	c2, err := r2.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: c1.Access})
	if err != nil || c2.Access == c1.Access {
		t.Fatalf("forced refresh: err=%v same=%v", err, c2.Access == c1.Access)
	}
	// Container 1 gets the same rejection: it adopts container 2's token.
	c3, err := r1.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: c1.Access})
	if err != nil || c3.Access != c2.Access {
		t.Fatalf("second container: err=%v adopted=%v", err, c3.Access == c2.Access)
	}
	if n := g.oauth.Refreshes(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
}

func TestRefresher_AccessToken_TerminalErrorMarksReauth(t *testing.T) {
	g := newRig()
	g.account("dead", "acct-dead", 0)
	g.account("alive", "acct-alive", 0)
	// Spend dead's refresh token behind our back: the next refresh is a reuse.
	dead := g.current(t, "dead")
	if _, err := g.oauth.Refresh(context.Background(), dead.Refresh); err != nil {
		t.Fatal(err)
	}
	r := g.refresher()
	_, err := r.AccessToken(context.Background(), "dead", codex.AccessOptions{})
	var re *codex.ReauthError
	if !errors.As(err, &re) || !errors.Is(err, codex.ErrReauthRequired) || re.Reason != "refresh_token_reused" {
		t.Fatalf("err = %v, want codex.ReauthError(refresh_token_reused)", err)
	}
	if g.states.reauth["dead"] != "refresh_token_reused" {
		t.Fatalf("state not recorded: %v", g.states.reauth)
	}
	calls := g.store.Calls() + g.leases.Calls()
	if _, err := r.AccessToken(context.Background(), "dead", codex.AccessOptions{}); !errors.Is(err, codex.ErrReauthRequired) {
		t.Fatalf("second call: %v", err)
	}
	if n := g.store.Calls() + g.leases.Calls() - calls; n != 0 {
		t.Fatalf("fail-fast made %d calls", n)
	}
	// Another container learns it from the lease mark, without calling OAuth.
	before := g.oauth.Reuses()
	if _, err := g.refresher().AccessToken(context.Background(), "dead", codex.AccessOptions{}); !errors.Is(err, codex.ErrReauthRequired) {
		t.Fatalf("other container: %v", err)
	}
	if g.oauth.Reuses() != before {
		t.Fatal("other container spent the dead token again")
	}
	if _, err := r.AccessToken(context.Background(), "alive", codex.AccessOptions{}); err != nil {
		t.Fatalf("other account affected: %v", err)
	}
	// A new login (import) lifts the mark.
	g.store.Seed("dead", g.oauth.Login("acct-dead", 0))
	if _, err := g.refresher().AccessToken(context.Background(), "dead", codex.AccessOptions{}); err != nil {
		t.Fatalf("after re-import: %v", err)
	}
}

func TestRefresher_AccessToken_TransientErrorKeepsToken(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	before := g.current(t, "a")
	g.oauth.Fail(&codex.OAuthError{Status: 503, Message: "down"})
	r := g.refresher()
	if _, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{}); err == nil || errors.Is(err, codex.ErrReauthRequired) {
		t.Fatalf("err = %v, want a transient failure", err)
	}
	if g.current(t, "a").Refresh != before.Refresh {
		t.Fatal("stored refresh token changed after a failed refresh")
	}
	g.oauth.Fail(nil)
	if _, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestRefresher_AccessToken_RecoversPendingVersion(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	// Holder 1 refreshes and writes, then "crashes" before promote.
	g.store.Fail("Promote", "", errors.New("killed"))
	r1 := g.refresher(codex.WithTimeouts(200*time.Millisecond, 200*time.Millisecond, time.Second))
	// The holder keeps trying to store until its (Lambda) deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	if _, err := r1.AccessToken(ctx, "a", codex.AccessOptions{}); err == nil {
		t.Fatal("holder 1 should fail before promote")
	}
	if n := g.oauth.Refreshes(); n != 1 {
		t.Fatalf("holder 1 made %d refreshes, want 1 (written, not promoted)", n)
	}
	g.store.Fail("Promote", "", nil)
	// The lease is kept (never released after an unsaved refresh) and has
	// run out with the holder's deadline.
	c, err := g.refresher().AccessToken(context.Background(), "a", codex.AccessOptions{})
	if err != nil {
		t.Fatalf("next holder: %v", err)
	}
	if n, reuse := g.oauth.Refreshes(), g.oauth.Reuses(); n != 1 || reuse != 0 {
		t.Fatalf("refreshes=%d reuses=%d: want the pending version promoted, not a new refresh", n, reuse)
	}
	if g.current(t, "a").Access != c.Access {
		t.Fatal("recovered token is not current")
	}
}

func TestRefresher_AccessToken_NoTimeToRefresh(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := g.refresher().AccessToken(ctx, "a", codex.AccessOptions{})
	if !errors.Is(err, codex.ErrNoTime) {
		t.Fatalf("err = %v, want codex.ErrNoTime", err)
	}
	// Two reads of the name on the lease item (the cold read's, and the
	// look for a newer token to adopt), no acquire.
	if g.oauth.Refreshes() != 0 || g.leases.Calls() > 2 {
		t.Fatalf("a refresh was started without the time to finish it (%d lease calls)", g.leases.Calls())
	}
}

func TestRefresher_AccessToken_UnknownAccount(t *testing.T) {
	g := newRig()
	if _, err := g.refresher().AccessToken(context.Background(), "nope", codex.AccessOptions{}); !errors.Is(err, codex.ErrAccountNotFound) {
		t.Fatalf("err = %v", err)
	}
}

// failingRenewal is a lease whose renewals never land.
type failingRenewal struct{ *codexmem.Leaser }

func (failingRenewal) Renew(context.Context, *codex.Lease, time.Duration) error {
	return errors.New("renewal not confirmed")
}

// Once the refresh token is spent, no failure after it (here: the promote
// failing until the lease may have passed) leads to a second refresh.
func TestRefresher_AccessToken_NeverRefreshesTwiceAfterSpending(t *testing.T) {
	g := newRig()
	g.account("a", "acct-a", time.Minute)
	g.store.Fail("Promote", "", errors.New("throttled"))
	r := codex.NewRefresher(g.store, failingRenewal{g.leases}, g.oauth,
		codex.WithLogger(slog.New(slog.DiscardHandler)), codex.WithTimeouts(200*time.Millisecond, 200*time.Millisecond, 3500*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := r.AccessToken(ctx, "a", codex.AccessOptions{}); !errors.Is(err, codex.ErrLeaseLost) {
		t.Fatalf("err = %v, want the holder to stop writing once its lease may have passed", err)
	}
	if n, reused := g.oauth.Refreshes(), g.oauth.Reuses(); n != 1 || reused != 0 {
		t.Fatalf("OAuth refreshes %d, reuses %d; want 1, 0", n, reused)
	}
}
