package codex_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// The tests in this file each fail when one guard of the invariants table
// (docs/DESIGN.md §3.4) is removed and no other test of the table's row
// would notice. They run on the in-memory world (internal/codexmem).

// Guard: the single flight per account in Refresher.AccessToken
// (refresher.go, flights.DoChan; §3.3 step 1), row "K containers × N callers
// on one expiring token → one OAuth refresh". Without it the lease and the
// adoption under it still allow one refresh only, so no reuse test notices;
// but each caller then runs the protocol on its own, and N callers in one
// container cost N lease rounds instead of one.
func TestRefresher_AccessToken_CallersInOneContainerShareOneFlight(t *testing.T) {
	g := newRig()
	g.oauth.Delay = 20 * time.Millisecond      // callers arrive while the flight runs
	g.account("a", "acct-flight", time.Minute) // inside the 5 min skew: due
	r := g.refresher()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := g.oauth.Refreshes(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}
	// One flight: the cold read's look at the lease item, then acquire,
	// intent, release.
	if n := g.leases.Calls(); n != 4 {
		t.Fatalf("16 callers in one container made %d lease calls, want 4 (one flight)", n)
	}
}

// writeTimes records when each write to a secret starts.
type writeTimes struct {
	codex.TokenStore
	mu     sync.Mutex
	starts []time.Time
}

func (s *writeTimes) note() {
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
}

func (s *writeTimes) WritePending(ctx context.Context, account, id string, a *codex.AuthFile) error {
	s.note()
	return s.TokenStore.WritePending(ctx, account, id, a)
}

func (s *writeTimes) Promote(ctx context.Context, account, from, to string) error {
	s.note()
	return s.TokenStore.Promote(ctx, account, from, to)
}

// stampedLease is a lease whose renewals never land, and which records when
// the last acquire was sent and for how long: no earlier than the holder's
// own send time, so the holder's lease surely ended by sent+ttl.
type stampedLease struct {
	failingRenewal
	mu   sync.Mutex
	sent time.Time
	ttl  time.Duration
}

func (l *stampedLease) Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error) {
	l.mu.Lock()
	l.sent, l.ttl = time.Now(), ttl
	l.mu.Unlock()
	return l.failingRenewal.Acquire(ctx, key, owner, ttl, stale)
}

// Guard: Refresher.persist (underlease.go) starts no write once the
// heartbeat says the lease may have passed (hb.left() <= 0: errLeasePassed;
// and none while a renewal is due), row "no refresh token is sent while a
// live process may hold its successor unstored". A waiter takes over after
// a full silent lease; a holder still writing then would race the holder
// that took over. Here renewals never land and every promote fails: the
// holder must stop at its lease's end, raise LeaseOutlived and return
// ErrLeaseLost, long before its deadline.
func TestRefresher_Persist_NoWriteAfterLeaseMayHavePassed(t *testing.T) {
	g := newRig()
	g.account("a", "acct-persist", time.Minute) // due
	g.store.Fail("Promote", "", errors.New("throttled"))
	ws := &writeTimes{TokenStore: g.store}
	sl := &stampedLease{failingRenewal: failingRenewal{g.leases}}
	ev := &events{}
	r := codex.NewRefresher(ws, sl, g.oauth, codex.WithLogger(slog.New(slog.DiscardHandler)), codex.WithEvents(ev),
		codex.WithTimeouts(200*time.Millisecond, 200*time.Millisecond, 3500*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.AccessToken(ctx, "a", codex.AccessOptions{})
	ended := time.Now()

	sl.mu.Lock()
	leaseEnd := sl.sent.Add(sl.ttl)
	sl.mu.Unlock()
	ws.mu.Lock()
	starts := slices.Clone(ws.starts)
	ws.mu.Unlock()
	if len(starts) == 0 {
		t.Fatal("the holder never tried to store its rotated token")
	}
	for i, s := range starts {
		if s.After(leaseEnd) {
			t.Errorf("write %d of %d started %s after the holder's lease may have passed", i+1, len(starts), s.Sub(leaseEnd).Round(time.Millisecond))
		}
	}
	if !errors.Is(err, codex.ErrLeaseLost) {
		t.Errorf("err = %v, want ErrLeaseLost (stopped writing)", err)
	}
	// At most one retry's backoff (2 s) late, far from its 10 s deadline.
	if late := ended.Sub(leaseEnd); late > 2500*time.Millisecond {
		t.Errorf("returned %s after its lease may have passed, want within one backoff", late.Round(time.Millisecond))
	}
	ev.mu.Lock()
	outlived := slices.Clone(ev.outlived)
	ev.mu.Unlock()
	if !slices.Contains(outlived, "a") {
		t.Errorf("no LeaseOutlived event (got %v)", outlived)
	}
	if n, reused := g.oauth.Refreshes(), g.oauth.Reuses(); n != 1 || reused != 0 {
		t.Fatalf("refreshes %d, reuses %d; want 1, 0", n, reused)
	}
}

// Guard: readBase (underlease.go) clears the intent it resolved
// (rel.ClearPending after recoverPending), row "no state wedges every later
// holder" (§3.7: missing or stale intent is cleared, not retried forever).
// A refresh overwrites the intent anyway, so only a holder that adopts
// without refreshing shows whether the resolved intent is cleared: if it is
// not, every later holder resolves it again.
func TestRefresher_AccessToken_AdoptingHolderClearsResolvedIntent(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	g.account("a", "acct-intent", time.Hour)
	adopter, refresher := g.refresher(), g.refresher()
	t0, err := adopter.AccessToken(ctx, "a", codex.AccessOptions{}) // cached, no refresh
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refresher.AccessToken(ctx, "a", codex.AccessOptions{Force: true, Rejected: t0.Access}); err != nil {
		t.Fatal(err)
	}
	v1, err := g.store.Current("a")
	if err != nil {
		t.Fatal(err)
	}
	// A holder recorded intent, then died before writing anything; its
	// lease is free again (as after a takeover).
	key := codex.LeaseKey("a", v1.Auth)
	dead, err := g.leases.Acquire(ctx, key, "dead", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.leases.SetPending(ctx, dead, codex.Pending{Account: "a", Version: codex.NewVersionID(), Base: v1.ID}, dead.Budget); err != nil {
		t.Fatal(err)
	}
	if err := g.leases.Release(ctx, dead, codex.Release{}); err != nil { // intent left on the item
		t.Fatal(err)
	}

	// The first container was rejected t0: under the lease it resolves the
	// intent (nothing was written) and adopts v1 without refreshing.
	got, err := adopter.AccessToken(ctx, "a", codex.AccessOptions{Rejected: t0.Access})
	if err != nil {
		t.Fatal(err)
	}
	if got.Access != v1.Auth.Token.Access || g.oauth.Refreshes() != 1 {
		t.Fatalf("adopted the stored token: %v; refreshes %d, want 1", got.Access == v1.Auth.Token.Access, g.oauth.Refreshes())
	}
	probe, err := g.leases.Acquire(ctx, key, "probe", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if probe.Pending != (codex.Pending{}) {
		t.Fatalf("resolved intent left on the lease item: %+v", probe.Pending)
	}
}

// renewalLog is a lease whose release answers late (applied at once), and
// which counts the renewals sent after a release was sent.
type renewalLog struct {
	slowReleaseAnswer
	mu       sync.Mutex
	released bool
	late     int
}

func (l *renewalLog) Renew(ctx context.Context, lease *codex.Lease, ttl time.Duration) error {
	l.mu.Lock()
	if l.released {
		l.late++
	}
	l.mu.Unlock()
	return l.slowReleaseAnswer.Renew(ctx, lease, ttl)
}

func (l *renewalLog) Release(ctx context.Context, lease *codex.Lease, r codex.Release) error {
	l.mu.Lock()
	l.released = true
	l.mu.Unlock()
	return l.slowReleaseAnswer.Release(ctx, lease, r)
}

// Guard: Refresher.release (underlease.go) stops the heartbeat (hb.end())
// before it sends the release, row "no refresh token is sent while a live
// process may hold its successor unstored" (heartbeat, §3.5). The lease also
// refuses a renewal of a released lease (TestLeaser_Renew_AfterRelease), so
// TestRefresher_ReleaseStopsHeartbeatFirst cannot tell the two guards apart;
// this counts the renewals sent after the release instead.
func TestRefresher_Release_NoRenewalSentAfterRelease(t *testing.T) {
	g := newRig()
	g.account("a", "acct-late-beat", time.Minute) // due
	// Lease 7 s (need = 2+2+3): a beat every 2.33 s; the release's answer takes 3 s.
	lease := &renewalLog{slowReleaseAnswer: slowReleaseAnswer{Leaser: g.leases, delay: 3 * time.Second}}
	r := codex.NewRefresher(g.store, lease, g.oauth, auditOpts()...)
	if _, err := r.AccessToken(context.Background(), "a", codex.AccessOptions{}); err != nil {
		t.Fatal(err)
	}
	lease.mu.Lock()
	defer lease.mu.Unlock()
	if !lease.released || lease.late != 0 {
		t.Fatalf("released %v; %d renewal(s) sent after the release", lease.released, lease.late)
	}
}
