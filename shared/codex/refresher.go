package codex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// TokenRefresher spends a refresh token for a new token set; *OAuthClient
// implements it.
type TokenRefresher interface {
	Refresh(ctx context.Context, refreshToken string) (*TokenResponse, error)
}

// Refresher is the one refresh routine (see the package comment). Every path
// that needs an access token calls AccessToken; nothing else refreshes.
type Refresher struct {
	store  TokenStore
	leaser Leaser
	oauth  TokenRefresher
	states AccountStates // optional
	now    func() time.Time
	log    *slog.Logger

	skew           time.Duration // refresh when the access token expires within it
	leaseTTL       time.Duration // upper bound of one lease
	oauthTimeout   time.Duration // whole OAuth call, retries included
	persistTimeout time.Duration // durable write + promote
	maxWait        time.Duration // flight bound when the caller has no deadline
	reauthMemoTTL  time.Duration
	rate           RefreshRate
	events         Events
	instance       string

	cache    tokenCache
	reauth   reauthMemo
	watches  leaseWatches
	named    sync.Map // account → version id a login announced (Forget)
	flights  singleflight.Group
	inFlight flightCount
}

var _ TokenSource = (*Refresher)(nil)

// Option configures a Refresher.
type Option func(*Refresher)

// WithClock sets the clock used for expiry and lease times.
func WithClock(now func() time.Time) Option { return func(r *Refresher) { r.now = now } }

// WithLogger sets the structured logger. Tokens are never logged.
func WithLogger(l *slog.Logger) Option { return func(r *Refresher) { r.log = l } }

// WithAccountStates records reauth_required accounts for the pool and CLI.
func WithAccountStates(s AccountStates) Option { return func(r *Refresher) { r.states = s } }

// WithTimeouts sets the OAuth and persist budgets and the lease TTL. The lease
// must cover both budgets; a caller deadline shorter than they need gets ErrNoTime.
func WithTimeouts(oauth, persist, leaseTTL time.Duration) Option {
	return func(r *Refresher) { r.oauthTimeout, r.persistTimeout, r.leaseTTL = oauth, persist, leaseTTL }
}

// WithRefreshRate sets the per-account refresh budget (DefaultRefreshRate).
func WithRefreshRate(rate RefreshRate) Option { return func(r *Refresher) { r.rate = rate } }

// WithEvents sends the routine's alarms to e (metrics); default: none.
func WithEvents(e Events) Option { return func(r *Refresher) { r.events = e } }

// Events receives what an operator must hear about, beside the logs.
type Events interface {
	// RotatedTokenNotStored: OpenAI rotated the account's refresh token and
	// the new one could not be stored; the login is likely lost.
	RotatedTokenNotStored(account string)
	// LeaseOutlived: a holder found another holder on its lease item at its
	// release, or stopped writing because its lease may have passed to
	// another holder.
	LeaseOutlived(account string)
	// ReauthRequired: the account's login is dead and needs a person.
	ReauthRequired(account, reason string)
}

type noEvents struct{}

func (noEvents) RotatedTokenNotStored(string)  {}
func (noEvents) LeaseOutlived(string)          {}
func (noEvents) ReauthRequired(string, string) {}

// NewRefresher returns the refresh routine over a token store, a leaser and
// the OAuth client.
func NewRefresher(store TokenStore, leaser Leaser, oauth TokenRefresher, opts ...Option) *Refresher {
	r := &Refresher{
		store: store, leaser: leaser, oauth: oauth,
		now:            time.Now,
		log:            slog.Default(),
		skew:           DefaultSkew,
		oauthTimeout:   DefaultOAuthBudget,
		persistTimeout: DefaultPersistBudget,
		leaseTTL:       DefaultLeaseTTL,
		maxWait:        flightWait,
		reauthMemoTTL:  reauthMemoFor,
		rate:           DefaultRefreshRate,
		events:         noEvents{},
		instance:       randomHex(4),
	}
	for _, o := range opts {
		o(r)
	}
	r.leaseTTL = max(r.leaseTTL, r.need())
	return r
}

// need is the least lease time one refresh may take: OAuth, then persist.
func (r *Refresher) need() time.Duration { return r.oauthTimeout + r.persistTimeout + margin }

// AccessToken returns a usable access token for account: from the container
// cache when it is good (no AWS call), else through the lease protocol.
// With opts.Rejected set it never returns that token. With opts.Wait set, a
// caller whose refresh is not done within it gets ErrHolderBusy and may try
// another account; the refresh goes on for the others.
func (r *Refresher) AccessToken(ctx context.Context, account string, opts AccessOptions) (Credentials, error) {
	var patience <-chan time.Time
	if opts.Wait > 0 {
		t := time.NewTimer(opts.Wait)
		defer t.Stop()
		patience = t.C
	}
	// A flight started for another caller's options may hand back the token
	// this caller rejected; a second round then forces a refresh.
	for range 3 {
		if e := r.cache.get(account); e != nil && r.servable(e.version.Auth.Token, opts, true) {
			return e.creds, nil
		}
		if err := r.reauth.get(account, r.now()); err != nil {
			return Credentials{}, err
		}
		// Only the caller that starts the flight runs this, so only its
		// context shapes the flight (and only its timer is made).
		ch := r.flights.DoChan(account, func() (any, error) {
			flightCtx, cancel := r.flightContext(ctx)
			defer cancel()
			e, minted, err := r.refresh(flightCtx, account, opts)
			return flight{e, minted}, err
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				return Credentials{}, res.Err
			}
			f := res.Val.(flight)
			if opts.Rejected == "" || f.entry.creds.Access != opts.Rejected {
				creds := f.entry.creds
				creds.Minted = f.minted
				return creds, nil
			}
		case <-patience:
			return Credentials{}, fmt.Errorf("account %q: %w", account, ErrHolderBusy)
		case <-ctx.Done():
			// The flight goes on for the others: a refresh is never cancelled
			// because one caller went away.
			return Credentials{}, ctx.Err()
		}
	}
	return Credentials{}, fmt.Errorf("account %q: upstream keeps rejecting fresh tokens", account)
}

// flight is what one refresh hands every caller that waited for it.
type flight struct {
	entry  *cached
	minted bool // the token endpoint issued it during this flight
}

// Forget drops what this container cached of account unless it is version
// (a login was stored meanwhile): the next call reads version by id.
func (r *Refresher) Forget(account, version string) {
	if e := r.cache.get(account); e != nil && e.version.ID == version {
		return
	}
	r.cache.forget(account)
	r.reauth.forget(account)
	if version != "" {
		r.named.Store(account, version)
	}
}

// flightContext detaches the shared refresh from the caller's cancellation
// but keeps its deadline: under Lambda that is the container's deadline.
func (r *Refresher) flightContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = r.now().Add(r.maxWait)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}

// servable reports whether t may be handed to a caller without a refresh.
// unrefreshed marks the token the caller started from (not one another
// holder produced since): an operator's force (Force without Rejected)
// always refreshes that one.
func (r *Refresher) servable(t Token, opts AccessOptions, unrefreshed bool) bool {
	if !t.ValidAt(r.now(), r.skew) {
		return false
	}
	if opts.Rejected != "" && t.Access == opts.Rejected {
		return false
	}
	return !(unrefreshed && opts.Force && opts.Rejected == "")
}

// refresh runs once per account per container at a time (single-flight).
// It reports whether the token it returns was minted by this flight.
func (r *Refresher) refresh(ctx context.Context, account string, opts AccessOptions) (*cached, bool, error) {
	seen := r.cache.get(account)
	if seen == nil {
		// Cold container: read the secret to learn the token and lease key.
		v, err := r.loadCold(ctx, account)
		if err != nil {
			return nil, false, err // the store names the account
		}
		seen = r.cache.put(account, v)
		if r.servable(v.Auth.Token, opts, true) {
			return seen, false, nil
		}
	}
	var hint *Version
	for attempt := 1; ; attempt++ {
		lease, adopted, err := r.acquire(ctx, account, seen, &opts, nil)
		if errors.Is(err, ErrNoTime) {
			// Too little time to refresh, but maybe not to read: another
			// holder may have stored a newer token since this cache filled.
			if v, ok := r.namedNewer(ctx, account, seen, opts); ok {
				return r.cache.put(account, v), false, nil
			}
		}
		if err != nil {
			return nil, false, err
		}
		if adopted != nil {
			return r.cache.put(account, *adopted), false, nil
		}
		v, minted, err := r.underLease(ctx, account, lease, seen.version.ID, hint, opts)
		var wrong *wrongLeaseError
		switch {
		case errors.As(err, &wrong) && attempt < 3:
			// The secret's content now belongs under another lease key (a
			// new login, or a first refresh that learned the account id).
			seen, hint = r.cache.put(account, wrong.current), nil
			if wrong.named {
				hint = &wrong.current
			}
			continue
		case errors.As(err, new(lostBeforeSpend)) && attempt < 3:
			// Losing the lease before recording intent spent nothing: another
			// holder took over, so wait for it like any other waiter.
			continue
		case err != nil:
			return nil, false, err
		}
		return r.cache.put(account, v), minted, nil
	}
}

// loadCold reads account for a container that has nothing cached: by id
// when a login was announced (Forget); else AWSCURRENT, to learn the lease
// key, then the version that lease names, by id, when it names another (a
// read of AWSCURRENT may answer the previous version for a while after a
// promote).
func (r *Refresher) loadCold(ctx context.Context, account string) (Version, error) {
	if id, ok := r.named.LoadAndDelete(account); ok {
		if v, err := r.store.LoadVersion(ctx, account, id.(string)); err == nil {
			return v, nil
		}
	}
	v, err := r.store.LoadCurrent(ctx, account)
	if err != nil {
		return v, err
	}
	if named, ok := r.namedNewer(ctx, account, newCached(account, v), AccessOptions{}); ok {
		return named, nil
	}
	return v, nil
}

// namedNewer reads the version the lease item names as current and returns
// it when it is not the one seen and this caller may be handed it. The name
// is the only judge of "newer": a read of AWSCURRENT may answer an older
// version for a while after a promote.
func (r *Refresher) namedNewer(ctx context.Context, account string, seen *cached, opts AccessOptions) (Version, bool) {
	rec, err := r.leaser.Inspect(ctx, seen.leaseKey)
	if err != nil {
		r.log.Warn("read lease item", "account", account, "err", err)
		return Version{}, false
	}
	return r.adoptNamed(ctx, account, rec.Current[account], seen, opts)
}

// adoptNamed returns version id of account when it is a name other than
// the one seen, of the same lease, and servable to this caller.
func (r *Refresher) adoptNamed(ctx context.Context, account, id string, seen *cached, opts AccessOptions) (Version, bool) {
	if id == "" || id == seen.version.ID {
		return Version{}, false
	}
	v, err := r.store.LoadVersion(ctx, account, id)
	if err != nil {
		r.log.Warn("read version named by the lease", "account", account, "version", id, "err", err)
		return Version{}, false
	}
	if LeaseKey(account, v.Auth) != seen.leaseKey || !r.servable(v.Auth.Token, opts, false) {
		return Version{}, false
	}
	return v, true
}

// wrongLeaseError: the lease taken is not the one the secret's current
// content names; the holder released it without writing anything.
type wrongLeaseError struct {
	held    string
	current Version
	named   bool // current was read by id, as the lease named it
}

func (e *wrongLeaseError) Error() string {
	return fmt.Sprintf("lease %s no longer matches the secret's login", maskKey(e.held))
}

// acquire takes the account's lease, or, when opts is non-nil, adopts a
// token another holder publishes while we wait (waiting, if set, is called
// once when the lease is found held). Waiters poll the lease with jitter
// instead of sitting out the holder's lease, adopt the version its item
// names when that is not the one they saw, and take a lease over
// only after watching its record stand still for the holder's full lease
// duration on this process's clock (see leaseWatches): no other machine's
// clock is trusted. It returns the lease with the time its request was sent.
func (r *Refresher) acquire(ctx context.Context, account string, seen *cached, opts *AccessOptions, waiting func()) (*heldLease, *Version, error) {
	owner := r.instance + "/" + randomHex(8)
	log := r.log.With("account", account, "lease", maskKey(seen.leaseKey))
	start := r.now()
	delay := firstWait
	var stale *LeaseHeldError
	for {
		ttl, err := r.leaseTTLFor(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("refresh account %q: %w", account, err)
		}
		sent := r.now()
		l, err := r.leaser.Acquire(ctx, seen.leaseKey, owner, ttl, stale)
		if err == nil {
			if stale != nil {
				log.Warn("took over a lease whose holder stopped renewing", "holder", stale.Owner, "fence", stale.Fence)
			}
			log.Info("lease acquired", "fence", l.Fence, "waited_ms", r.now().Sub(start).Milliseconds())
			r.watches.forget(seen.leaseKey)
			return &heldLease{Lease: l, sent: sent}, nil, nil
		}
		var held *LeaseHeldError
		if !errors.As(err, &held) {
			return nil, nil, fmt.Errorf("refresh account %q: acquire lease: %w", account, err)
		}
		if delay == firstWait {
			log.Info("lease held; waiting", "holder", held.Owner, "fence", held.Fence)
			if waiting != nil {
				waiting()
			}
		}
		stale = r.watches.observe(seen.leaseKey, held, r.now(), r.leaseTTL)
		wait := delay
		if stale == nil {
			wait = min(delay, max(r.watches.due(seen.leaseKey, r.now()), 10*time.Millisecond))
		}
		delay = min(2*delay, time.Second)
		if err := sleep(ctx, jitter(wait)); err != nil {
			return nil, nil, fmt.Errorf("refresh account %q: waiting for %s: %w", account, held.Owner, err)
		}
		if opts == nil {
			continue
		}
		if v, ok := r.adoptNamed(ctx, account, held.Current[account], seen, *opts); ok {
			log.Info("adopted token refreshed by another holder", "version", v.ID, "waited_ms", r.now().Sub(start).Milliseconds())
			return nil, &v, nil
		}
	}
}

// heldLease is a lease with the time its acquire request was sent: the
// holder's own lease time counts from then.
type heldLease struct {
	*Lease
	sent time.Time
}

// firstWait is a waiter's first poll interval; it doubles up to a second.
const firstWait = 50 * time.Millisecond

// leaseTTLFor fits the lease inside the caller's deadline, or refuses to
// start when OAuth and the durable write cannot both finish in time.
func (r *Refresher) leaseTTLFor(ctx context.Context) (time.Duration, error) {
	ttl := r.leaseTTL
	if dl, ok := ctx.Deadline(); ok {
		left := dl.Sub(r.now()) - margin
		if left < r.need() {
			return 0, fmt.Errorf("%w: %s left, need %s", ErrNoTime, left.Round(time.Millisecond), r.need())
		}
		ttl = min(ttl, left)
	}
	return ttl, nil
}

// NewVersionID returns a fresh secret version id: 32 random hex characters
// (Secrets Manager accepts 32–64), chosen before the write so that a retried
// write is recognised as the same one.
func NewVersionID() string { return randomHex(16) }

// randomHex returns n random bytes as hex: lease owners and version ids.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// maskKey keeps enough of a lease key to correlate logs, not to identify.
func maskKey(k string) string {
	if len(k) <= 12 {
		return k
	}
	return k[:12] + "…"
}
