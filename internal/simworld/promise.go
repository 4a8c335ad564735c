package simworld

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
)

// The scenarios in this file drive the refresh protocol through the ways a
// login was once lost or wedged under real AWS semantics: Secrets Manager
// writes failing for longer than a lease, clocks minutes apart, stale reads
// of AWSCURRENT, a lease key that changes with the secret's content, too
// little time to refresh, a loop of refreshes, an import racing a refresh,
// a pending version that lost its label. The refresh routine's tests
// (shared/codex) assert on their outcomes and the reliability matrix
// reports them as rows; both run the same sequence. Setup failures end t;
// what the protocol did is returned for the caller to judge.

// QuickTimeouts are OAuth 1 s, persist 1 s, lease 5 s (the least the
// refresher allows for them), so that faults outlast the lease within
// seconds.
func QuickTimeouts() codex.Option { return codex.WithTimeouts(time.Second, time.Second, 5*time.Second) }

// RefresherOn is a container's Refresher over cfg, wired like every main
// (World.App), with its lease wrapped by lease (nil: the plain lease).
func (w *World) RefresherOn(cfg aws.Config, lease func(codex.Leaser) codex.Leaser, opts ...codex.Option) *codex.Refresher {
	return w.App(&cfg, lease, opts...).Refresher
}

// NoRenewal is the negative control for renewals: every renewal fails, as if
// the holder had none.
type NoRenewal struct{ codex.Leaser }

// Renew always fails.
func (NoRenewal) Renew(context.Context, *codex.Lease, time.Duration) error {
	return errors.New("renewal disabled (negative control)")
}

// Currentless hides the lease item's names of the current versions: the
// negative control for stale reads, deriving from AWSCURRENT as before.
type Currentless struct{ codex.Leaser }

// Acquire acquires and forgets the lease's Current.
func (c Currentless) Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error) {
	l, err := c.Leaser.Acquire(ctx, key, owner, ttl, stale)
	if l != nil {
		l.Current = nil
	}
	return l, err
}

// Inspect reads the lease item and forgets its Current.
func (c Currentless) Inspect(ctx context.Context, key string) (*codex.LeaseHeldError, error) {
	h, err := c.Leaser.Inspect(ctx, key)
	if h != nil {
		h.Current = nil
	}
	return h, err
}

// WaiterOnStaleReads (issue 25, item 2): on a secret the stack serves stale
// AWSCURRENT reads for (call WithStaleReads before the login), a container
// refreshes; a second container reads the new version; then the first
// refreshes again with its OAuth answer delayed a second, while the second,
// told by the upstream that the same version's token is rejected, waits on
// it. A read of AWSCURRENT meanwhile answers the version before, still valid
// for the upstream's clock. It returns the waiter's result and what the
// holder minted. currentless is the negative control: the waiter's lease
// items name no version, so it judges by what AWSCURRENT reads show.
func (w *World) WaiterOnStaleReads(t testing.TB, account string, currentless bool, opts ...codex.Option) (waiter, holder Result) {
	t.Helper()
	var lease func(codex.Leaser) codex.Leaser
	if currentless {
		lease = func(l codex.Leaser) codex.Leaser { return Currentless{l} }
	}
	ctx := context.Background()
	h, wt := w.RefresherOn(w.AWS, nil, opts...), w.RefresherOn(w.AWS, lease, opts...)
	first, err := h.AccessToken(ctx, account, codex.AccessOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.AccessToken(ctx, account, codex.AccessOptions{Force: true, Rejected: "none"}); err != nil {
		t.Fatal(err)
	}
	faults := w.Sim.Stats().FaultsApplied
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: time.Second, Count: 1})
	hc := Call(h, ctx, account, codex.AccessOptions{Force: true, Rejected: first.Access})
	WaitUntil(t, "the holder to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == faults+1 })
	wc := Call(wt, ctx, account, codex.AccessOptions{Force: true, Rejected: first.Access})
	return <-wc, <-hc
}

// Result is what one AccessToken call returned.
type Result struct {
	Creds codex.Credentials
	Err   error
}

// Call runs r.AccessToken in the background.
func Call(r *codex.Refresher, ctx context.Context, account string, o codex.AccessOptions) chan Result {
	ch := make(chan Result, 1)
	go func() {
		c, err := r.AccessToken(ctx, account, o)
		ch <- Result{c, err}
	}()
	return ch
}

// WaitUntil polls cond every 10 ms for up to a generous minute.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// LongWrite is the outcome of WriteFailsLongerThanLease.
type LongWrite struct {
	First, Second Result
	// Stored is the access token AWSCURRENT holds at the end.
	Stored string
}

// WriteFailsLongerThanLease (issue item 1): a holder spends the refresh token
// while every PutSecretValue fails (throttled) for 12 s, over twice its 5 s
// lease; a second container starts then and watches the lease for 8 s more;
// then the writes recover. With renewals the second container waits and
// adopts; noRenew (the negative control) disables them, and the second
// container takes over and spends the same token. account must hold an
// expiring login.
func (w *World) WriteFailsLongerThanLease(t testing.TB, account string, noRenew bool) LongWrite {
	t.Helper()
	tr := awsfault.New(nil)
	tr.Inject("PutSecretValue", awsfault.Fault{Action: awsfault.Respond, Status: 400,
		Body: awsfault.ErrorBody("ThrottlingException", "Rate exceeded")})
	var lease func(codex.Leaser) codex.Leaser
	if noRenew {
		lease = func(l codex.Leaser) codex.Leaser { return NoRenewal{l} }
	}
	a := w.RefresherOn(awsfault.NoRetries(tr.Wrap(w.AWS)), lease, QuickTimeouts())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	refreshes := w.Sim.Stats().Refreshes
	first := Call(a, ctx, account, codex.AccessOptions{})
	WaitUntil(t, "the first holder to spend the refresh token", func() bool { return w.Sim.Stats().Refreshes == refreshes+1 })

	time.Sleep(12 * time.Second) // writes keep failing: over twice the 5 s lease
	second := Call(w.RefresherOn(w.AWS, nil, QuickTimeouts()), ctx, account, codex.AccessOptions{})
	time.Sleep(8 * time.Second) // the second container watches the lease for more than its duration
	tr.Clear("PutSecretValue")
	out := LongWrite{First: <-first, Second: <-second}
	if cur, err := w.Secrets.LoadCurrent(ctx, account); err == nil {
		out.Stored = cur.Auth.Token.Access
	}
	return out
}

// Skewed is the outcome of ClockSkew.
type Skewed struct{ Holder, Waiter Result }

// ClockSkew (issue item 5): a holder whose lease clock is skew off refreshes
// slowly (the token endpoint answers after 2 s); a second container calls
// meanwhile. opts are both containers' options (timeouts). account must hold
// an expiring login.
func (w *World) ClockSkew(t testing.TB, account string, skew time.Duration, opts ...codex.Option) Skewed {
	t.Helper()
	faults := w.Sim.Stats().FaultsApplied
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 2 * time.Second, Count: 1})
	// What other machines see of a holder's clock is what it writes on the
	// lease item.
	skewed := func() time.Time { return time.Now().Add(skew) }
	holder := codex.NewRefresher(w.Secrets, dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table, dynamolease.WithClock(skewed)),
		&codex.OAuthClient{TokenURL: w.TokenURL()}, append([]codex.Option{codex.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := Call(holder, ctx, account, codex.AccessOptions{})
	WaitUntil(t, "the holder to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == faults+1 })
	second := Call(w.Refresher(nil, opts...), ctx, account, codex.AccessOptions{})
	return Skewed{Holder: <-first, Waiter: <-second}
}

// SilentTakeover (issue item 5, the other side): a holder whose clock was an
// hour behind took account's lease for 5 s and died; a container then
// calls. It returns the call and how long it took: the promise is that it
// took over only after the lease's duration on its own clock.
func (w *World) SilentTakeover(t testing.TB, account string) (Result, time.Duration) {
	t.Helper()
	v, err := w.Secrets.LoadCurrent(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	past := func() time.Time { return time.Now().Add(-time.Hour) }
	dead := dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table, dynamolease.WithClock(past))
	if _, err := dead.Acquire(context.Background(), codex.LeaseKey(account, v.Auth), "dead-holder", 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := w.RefresherOn(w.AWS, nil, QuickTimeouts()).AccessToken(context.Background(), account, codex.AccessOptions{})
	return Result{c, err}, time.Since(start)
}

// KeyChange is the outcome of LeaseKeyChange.
type KeyChange struct{ Fresh, Stale Result }

// LeaseKeyChange (issue item 6): a container caches account's login
// (ChatGPT account before); another ChatGPT account (after) is imported
// under the same name; a fresh container refreshes it slowly while the
// stale container, whose cache names the old lease key, forces a refresh of
// the token it saw rejected. opts are both containers' options. account
// must hold an expiring login of before.
func (w *World) LeaseKeyChange(t testing.TB, account, after string, opts ...codex.Option) KeyChange {
	t.Helper()
	ctx := context.Background()
	stale := w.Refresher(nil, opts...)
	old, err := stale.AccessToken(ctx, account, codex.AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another ChatGPT account is imported under the same name (--replace).
	w.ImportExpiring(t, account, after)
	faults := w.Sim.Stats().FaultsApplied
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: time.Second, Count: 1})
	fresh := w.Refresher(nil, opts...)
	a := Call(fresh, ctx, account, codex.AccessOptions{})
	WaitUntil(t, "the fresh container to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == faults+1 })
	b := Call(stale, ctx, account, codex.AccessOptions{Force: true, Rejected: old.Access})
	return KeyChange{Fresh: <-a, Stale: <-b}
}

// NoTime (issue item 7): a container whose cached token has fallen inside
// its refresh skew is called with 2 s left (far less than a refresh needs)
// after another container stored a newer token. It returns that call and
// the access token stored. opts are both containers' options. account must
// hold an expiring login.
func (w *World) NoTime(t testing.TB, account string, opts ...codex.Option) (Result, string) {
	t.Helper()
	var ahead atomic.Int64 // how far the short container's clock runs ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	short := w.Refresher(nil, append(append([]codex.Option{}, opts...), codex.WithClock(clock))...)
	ctx := context.Background()
	if _, err := short.AccessToken(ctx, account, codex.AccessOptions{}); err != nil {
		t.Fatal(err) // fills its cache with a token good for an hour (one refresh)
	}
	ahead.Store(int64(58 * time.Minute)) // now that token is inside its refresh skew
	w.Sim.Advance(30 * time.Minute)      // the next token outlives it by half an hour
	if _, err := w.Refresher(nil, opts...).AccessToken(ctx, account, codex.AccessOptions{Force: true}); err != nil {
		t.Fatal(err) // another container refreshes and stores
	}
	dl, cancel := context.WithDeadline(ctx, clock().Add(2*time.Second))
	defer cancel()
	c, err := short.AccessToken(dl, account, codex.AccessOptions{})
	stored := ""
	if cur, lerr := w.Secrets.LoadCurrent(ctx, account); lerr == nil {
		stored = cur.Auth.Token.Access
	}
	return Result{c, err}, stored
}

// StaleReads (issue item 8): two containers take turns, six calls, each a
// refresh (the world's access tokens must live less than the 5-minute
// refresh skew), on a secret the stack serves stale AWSCURRENT reads for
// (call WithStaleReads before the login). currentless is the negative
// control: holders ignore the version the lease item names. It returns the
// last error any call saw.
func (w *World) StaleReads(account string, currentless bool) error {
	var lease func(codex.Leaser) codex.Leaser
	if currentless {
		lease = func(l codex.Leaser) codex.Leaser { return Currentless{l} }
	}
	containers := []*codex.Refresher{w.RefresherOn(w.AWS, lease), w.RefresherOn(w.AWS, lease)}
	var lastErr error
	for i := range 6 {
		if _, err := containers[i%2].AccessToken(context.Background(), account, codex.AccessOptions{}); err != nil {
			lastErr = err
		}
	}
	return lastErr
}

// RefreshLoop (issue item 9): a fresh container per call forces a refresh
// of account, as a loop of callers across containers would, until the
// refresh budget refuses one or max calls were made. It returns how many
// refreshes were served and the refusal (nil when none came).
func (w *World) RefreshLoop(account string, max int, opts ...codex.Option) (served int, refused *codex.RateLimitedError, err error) {
	for range max {
		_, err := w.Refresher(nil, opts...).AccessToken(context.Background(), account, codex.AccessOptions{Force: true})
		if errors.As(err, &refused) {
			return served, refused, nil
		}
		if err != nil {
			return served, nil, fmt.Errorf("refresh %d: %w", served+1, err)
		}
		served++
	}
	return served, nil, nil
}

// ImportRace is the outcome of ImportRacingRefresh.
type ImportRace struct {
	Import  error // the import's answer
	Waited  bool  // the import waited for the refresh's lease
	Refresh Result
}

// ErrOlderLogin is ImportRacingRefresh's refusal: what `codexgate import`
// says of a file whose login the account already holds a newer token of.
var ErrOlderLogin = errors.New("refused: the account holds a newer token of this login")

// ImportRacingRefresh (issue item 3): while a refresh is at the token
// endpoint (answer delayed 2 s), the same auth.json tok was imported from is
// imported again, with the check `codexgate import` makes. opts are the
// containers' options. account must hold tok, expiring.
func (w *World) ImportRacingRefresh(t testing.TB, account string, tok openaisim.Tokens, opts ...codex.Option) ImportRace {
	t.Helper()
	file, err := codex.ParseAuthFile(account, w.Sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	faults := w.Sim.Stats().FaultsApplied
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 2 * time.Second, Count: 1})
	ctx := context.Background()
	refresh := Call(w.Refresher(nil, opts...), ctx, account, codex.AccessOptions{})
	WaitUntil(t, "the refresh to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied == faults+1 })
	var out ImportRace
	_, out.Import = w.Refresher(nil, opts...).Replace(ctx, account, file, codex.ReplaceOptions{
		Waiting: func() { out.Waited = true },
		Check: func(cur *codex.Version) error {
			if cur.Auth.Token.Refresh != file.Token.Refresh {
				return ErrOlderLogin
			}
			return nil
		},
	})
	out.Refresh = <-refresh
	return out
}

// UnlabelledPending (issue item 2): a holder died after writing its pending
// version; a login stored outside the lease (as imports once were) took the
// pending label and moved AWSCURRENT, leaving the intent pointing at a
// version without any label, which DescribeSecret no longer lists. Then a
// container forces a refresh. It returns that call and the lease key, whose
// item the caller may inspect. account must hold a login of ChatGPT
// account id.
func (w *World) UnlabelledPending(t testing.TB, account, id string) (Result, string) {
	t.Helper()
	ctx := context.Background()
	v0, err := w.Secrets.LoadCurrent(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	key := codex.LeaseKey(account, v0.Auth)
	leaser := dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table)
	dead, err := leaser.Acquire(ctx, key, "dead-holder", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 := codex.NewVersionID()
	if err := leaser.SetPending(ctx, dead, codex.Pending{Account: account, Version: p1, Base: v0.ID}, codex.RefreshBudget{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Secrets.WritePending(ctx, account, p1, v0.Auth); err != nil {
		t.Fatal(err)
	}
	// The old import path: its own pending version (the label moves off p1),
	// then a promote from v0, all without the lease.
	tok := w.Sim.AddAccount(openaisim.Account{ID: id, Plan: "plus"})
	login, err := codex.ParseAuthFile(account, w.Sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	p2 := codex.NewVersionID()
	if err := w.Secrets.WritePending(ctx, account, p2, login); err != nil {
		t.Fatal(err)
	}
	if err := w.Secrets.Promote(ctx, account, v0.ID, p2); err != nil {
		t.Fatal(err)
	}
	c, err := w.RefresherOn(w.AWS, nil, QuickTimeouts()).AccessToken(ctx, account, codex.AccessOptions{Force: true})
	return Result{c, err}, key
}
