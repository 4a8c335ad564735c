package codex

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// underLease runs the protocol's steps after acquire while holding hl. It
// returns the version to serve, and whether this holder minted it at the
// token endpoint (rather than adopting what was stored). hint, when set, is
// a version read by id from another lease's name that redirected here.
func (r *Refresher) underLease(ctx context.Context, account string, hl *heldLease, seenID string, hint *Version, opts AccessOptions) (Version, bool, error) {
	l := hl.Lease
	log := r.log.With("account", account, "lease", maskKey(l.Key), "fence", l.Fence)
	hb, done, cleanup := r.holding(ctx, account, hl)
	defer cleanup()

	// Read the base under the lease (finishing a crashed holder's write).
	cur, rel, err := r.readBase(ctx, account, l, hint)
	if err != nil {
		done(rel)
		return Version{}, false, fmt.Errorf("refresh account %q: %w", account, err)
	}
	if key := LeaseKey(account, cur.Auth); key != l.Key {
		done(rel)
		return Version{}, false, &wrongLeaseError{held: l.Key, current: cur, named: l.Current[account] == cur.ID}
	}

	if m, ok := l.Reauth[account]; ok {
		if m.Version == cur.ID {
			done(rel)
			return Version{}, false, r.rememberReauth(account, m)
		}
		// The secret changed since the mark (a new login): lift it.
		rel.Reauth = maps.Clone(l.Reauth)
		delete(rel.Reauth, account)
	}

	// Adopt what someone else produced, or what is still good.
	if r.servable(cur.Auth.Token, opts, cur.ID == seenID) {
		rel.name(account, cur.ID)
		done(rel)
		return cur, false, nil
	}

	// Spend from the account's refresh budget, in the same write that
	// records intent: a loop of callers can never reach the version quota.
	budget, retryAt, ok := r.rate.take(l.Budget, r.now())
	if !ok {
		done(rel)
		log.Warn("refresh refused by the account's refresh budget", "retry_at", retryAt)
		return Version{}, false, &RateLimitedError{Account: account, RetryAt: retryAt}
	}

	// Record intent before spending the refresh token.
	next := NewVersionID()
	if err := r.leaser.SetPending(ctx, l, Pending{Account: account, Version: next, Base: cur.ID}, budget); errors.Is(err, ErrLeaseLost) {
		return Version{}, false, fmt.Errorf("refresh account %q: record pending version: %w", account, lostBeforeSpend{err})
	} else if err != nil {
		// Nothing spent; an intent that landed unseen names a version that
		// will never exist, which the next holder clears.
		done(rel)
		return Version{}, false, fmt.Errorf("refresh account %q: record pending version: %w", account, err)
	}
	rel.ClearPending = true
	if left := hb.left(); left < r.oauthTimeout+r.persistTimeout {
		done(rel)
		return Version{}, false, fmt.Errorf("refresh account %q: %w: lease has %s left", account, ErrNoTime, left)
	}

	// Refresh, detached from the caller, bounded by our own budget.
	start := r.now()
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.oauthTimeout)
	resp, err := r.oauth.Refresh(octx, cur.Auth.Token.Refresh)
	cancel()
	if err != nil {
		return Version{}, false, r.refreshFailed(ctx, account, l, hb, rel, cur, err)
	}
	now := r.now()
	log.Info("token refreshed", "oauth_ms", now.Sub(start).Milliseconds())
	fresh := Version{ID: next, Auth: cur.Auth.Rotated(resp, now)}

	// Durable write first, then compare-and-swap promote. Until both
	// succeed the rotated token exists only here: keep trying while the
	// lease is surely ours (the heartbeat renews it).
	if err := r.persist(ctx, account, cur.ID, fresh, hb); errors.Is(err, ErrStaleVersion) {
		// Stored, but AWSCURRENT moved outside the protocol: theirs wins.
		// The CAS proved cur is no longer current, so a read that still
		// answers cur is stale and is not recorded.
		log.Warn("rotated token stored but not promoted: current version moved", "version", next)
		v, rerr := r.loadCurrentOtherThan(ctx, account, cur.ID)
		if rerr != nil {
			rel.name(account, "") // cur is spent: the next holder reads AWSCURRENT
			done(rel)
			return Version{}, false, fmt.Errorf("refresh account %q: %w", account, err)
		}
		rel.name(account, v.ID)
		done(rel)
		if r.servable(v.Auth.Token, opts, false) {
			return v, false, nil
		}
		return Version{}, false, fmt.Errorf("refresh account %q: %w", account, err)
	} else if err != nil {
		log.Error("ALERT rotated token not stored", "version", next, "err", err)
		r.events.RotatedTokenNotStored(account)
		return Version{}, false, fmt.Errorf("refresh account %q: store rotated token: %w", account, err)
	}
	log.Info("token stored and promoted", "version", next, "persist_ms", r.now().Sub(now).Milliseconds())

	// Release, keeping the fence.
	rel.name(account, next)
	rel.LastRefresh = now
	done(rel)
	r.versionStored(ctx, account, next, false)
	return fresh, true, nil
}

// holding starts what holding hl takes: a count for Wait and a heartbeat.
// done releases the lease (stopping the heartbeat first); cleanup, deferred
// by the caller, ends both on paths that do not release.
func (r *Refresher) holding(ctx context.Context, account string, hl *heldLease) (hb *heartbeat, done func(Release), cleanup func()) {
	r.inFlight.add(1)
	hb = r.keepAlive(ctx, hl.Lease, hl.sent)
	done = func(rel Release) { r.release(ctx, account, hl.Lease, hb, rel) }
	return hb, done, func() {
		hb.end()
		r.inFlight.add(-1)
	}
}

// lostBeforeSpend wraps ErrLeaseLost found before the refresh token was
// spent: taking the protocol again from the start costs nothing then. After
// the spend, no error may lead to a second refresh.
type lostBeforeSpend struct{ error }

func (e lostBeforeSpend) Unwrap() error { return e.error }

var (
	// errLeasePassed: a holder's lease may have passed to another holder, by
	// its own clock; it must not start another write.
	errLeasePassed = fmt.Errorf("%w: it may have passed to another holder; stopped writing", ErrLeaseLost)
	// errRenewalDue: too little lease is left for one more write until the
	// heartbeat's next renewal lands.
	errRenewalDue = errors.New("waiting for a lease renewal before writing")
)

// readBase returns the version every write under l derives from, with what
// the release must record. A crashed holder's intent is resolved first:
// its version is promoted when it exists and its base is still current, and
// the release names it, whichever secret it belongs to. The base is then the
// version the lease item names as current, read by id: a read of AWSCURRENT
// right after a promote may still return the previous version, whose refresh
// token is spent. A named version whose content belongs to another lease key
// is returned as it is (the caller moves to that key). Without a name, hint
// (a version another lease named, whose content moved it to this key) is
// the base; only a secret no lease has named yet is read from AWSCURRENT.
//
// A version that cannot be parsed comes back with its id and the error, so
// that Replace can still write over it.
func (r *Refresher) readBase(ctx context.Context, account string, l *Lease, hint *Version) (Version, Release, error) {
	var rel Release
	if p := l.Pending; p.Version != "" {
		recovered, err := r.recoverPending(ctx, p)
		if err != nil {
			return Version{}, rel, fmt.Errorf("recover pending version: %w", err)
		}
		rel.ClearPending = true
		if recovered != nil {
			rel.name(p.Account, recovered.ID)
			if p.Account == account {
				return *recovered, rel, nil
			}
		}
	}
	if id := l.Current[account]; id != "" {
		v, err := r.loadNamed(ctx, account, id)
		switch {
		case err == nil:
			return v, rel, nil
		case errors.Is(err, ErrVersionNotFound):
			// The named version is gone (the secret was deleted and created
			// again): AWSCURRENT is all there is.
			r.log.Warn("version named by the lease not found; reading AWSCURRENT", "account", account, "version", id)
		default:
			return v, rel, fmt.Errorf("read version %s named by the lease: %w", id, err)
		}
	}
	if hint != nil && LeaseKey(account, hint.Auth) == l.Key {
		return *hint, rel, nil
	}
	v, err := r.store.LoadCurrent(ctx, account)
	if err != nil {
		return v, rel, fmt.Errorf("re-read under lease: %w", err)
	}
	return v, rel, nil
}

// loadCurrentOtherThan reads AWSCURRENT when the caller knows it is no
// longer version old (a failed CAS said so): a read that still answers old is
// stale, and is read again for a moment before giving up.
func (r *Refresher) loadCurrentOtherThan(ctx context.Context, account, old string) (Version, error) {
	var v Version
	_, err := namedRetry.retry(ctx, func() error {
		var err error
		switch v, err = r.store.LoadCurrent(ctx, account); {
		case err != nil:
			return permanent{err}
		case v.ID == old:
			return fmt.Errorf("AWSCURRENT of %q still reads as %s", account, old)
		}
		return nil
	})
	return v, err
}

// loadNamed reads a version by id, giving a version just written a moment
// to become readable before it counts as gone.
func (r *Refresher) loadNamed(ctx context.Context, account, id string) (Version, error) {
	var v Version
	_, err := namedRetry.retry(ctx, func() error {
		var err error
		if v, err = r.store.LoadVersion(ctx, account, id); err != nil && !errors.Is(err, ErrVersionNotFound) {
			return permanent{err}
		}
		return err
	})
	return v, err
}

var (
	// persistRetry: the durable write and the promote, for as long as the
	// lease is surely held.
	persistRetry = backoff{first: 100 * time.Millisecond, most: 2 * time.Second}
	// namedRetry: a version just written gets a moment to become readable.
	namedRetry = backoff{first: 200 * time.Millisecond, most: 800 * time.Millisecond, attempts: 3}
)

// refreshFailed handles an OAuth error under the lease and returns the
// caller's error. An answer that may hide a rotation (no definite error) is
// the rotated-not-stored alarm; a terminal error marks the account
// reauth_required, refresh_token_reused included: that answer means a token
// of this login was presented twice, and OpenAI has revoked the login.
func (r *Refresher) refreshFailed(ctx context.Context, account string, l *Lease, hb *heartbeat, rel Release, cur Version, err error) error {
	var oe *OAuthError
	isOAuth := errors.As(err, &oe)
	if isOAuth && oe.MaybeRotated {
		r.log.Error("ALERT rotated token not stored: the token endpoint may have rotated without a readable answer", "account", account, "err", err)
		r.events.RotatedTokenNotStored(account)
	}
	if !isOAuth || !oe.Terminal() {
		r.release(ctx, account, l, hb, rel)
		return fmt.Errorf("refresh account %q: %w", account, err)
	}
	reason := oe.Code
	if reason == "" {
		reason = fmt.Sprintf("http_%d", oe.Status)
	}
	mark := ReauthMark{Version: cur.ID, Reason: reason, At: r.now()}
	rel.Reauth = maps.Clone(l.Reauth)
	if rel.Reauth == nil {
		rel.Reauth = map[string]ReauthMark{}
	}
	rel.Reauth[account] = mark
	r.release(ctx, account, l, hb, rel)
	r.events.ReauthRequired(account, reason)
	if r.states != nil {
		if serr := r.states.MarkReauthRequired(ctx, account, reason); serr != nil {
			r.log.Error("record reauth_required", "account", account, "err", serr)
		}
	}
	r.log.Error("ALERT account needs re-login", "account", account, "reason", reason)
	return fmt.Errorf("%w (%v)", r.rememberReauth(account, mark), err)
}

func (r *Refresher) rememberReauth(account string, m ReauthMark) *ReauthError {
	e := &ReauthError{Account: account, Reason: m.Reason, Since: m.At}
	r.reauth.put(account, e, r.now().Add(r.reauthMemoTTL))
	return e
}

// persist writes the pending version and promotes it over base, retrying
// transient failures for as long as the lease is surely ours: the heartbeat
// renews it while this runs, so a slow Secrets Manager delays every other
// holder instead of letting one take over and spend the refresh token this
// holder already spent. It gives up when the lease may have passed to
// another holder (never starting a write after that) or the flight's
// deadline comes. A stale base means AWSCURRENT moved outside the protocol.
func (r *Refresher) persist(ctx context.Context, account, base string, v Version, hb *heartbeat) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = r.now().Add(r.maxWait)
	}
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl)
	defer cancel()
	// attempt runs op only while the lease surely outlasts it; while a
	// renewal is due it waits, and once the lease may have passed it stops.
	attempt := func(op func(context.Context) error) func() error {
		return func() error {
			left := hb.left()
			switch {
			case left <= 0:
				r.events.LeaseOutlived(account)
				return permanent{errLeasePassed}
			case left <= margin:
				return errRenewalDue
			}
			actx, cancel := context.WithTimeout(pctx, min(left-margin, r.persistTimeout))
			defer cancel()
			return op(actx)
		}
	}
	_, err := persistRetry.retry(pctx, attempt(func(ctx context.Context) error { return r.store.WritePending(ctx, account, v.ID, v.Auth) }))
	if err != nil {
		return fmt.Errorf("write pending version: %w", err)
	}
	_, err = persistRetry.retry(pctx, attempt(func(ctx context.Context) error {
		err := r.store.Promote(ctx, account, base, v.ID)
		if errors.Is(err, ErrStaleVersion) {
			return permanent{err}
		}
		return err
	}))
	if err != nil {
		return fmt.Errorf("promote version: %w", err)
	}
	return nil
}

// recoverPending promotes a version a crashed holder wrote but did not
// promote, while the version it was derived from is still current, and
// returns it; nil when there was nothing to finish. Existence is judged by
// reading the version by id (a version that lost its last label is still
// readable, though DescribeSecret no longer lists it), staleness by where
// AWSCURRENT is.
func (r *Refresher) recoverPending(ctx context.Context, p Pending) (*Version, error) {
	v, err := r.store.LoadVersion(ctx, p.Account, p.Version)
	if errors.Is(err, ErrVersionNotFound) {
		return nil, nil // crashed before the durable write: nothing to finish
	} else if err != nil {
		return nil, err
	}
	switch err := r.store.Promote(ctx, p.Account, p.Base, p.Version); {
	case errors.Is(err, ErrStaleVersion), errors.Is(err, ErrVersionNotFound):
		return nil, nil // the base moved on (a newer login won), or the version is gone
	case err != nil:
		return nil, err
	}
	r.log.Warn("recovered pending version left by a crashed holder", "account", p.Account, "version", p.Version)
	return &v, nil
}

// release ends the lease. The heartbeat stops first, so that no renewal
// lands after the release (hb may be nil). Failing to release is logged, not
// returned: the token is already stored, and the lease is taken over in due
// course (docs/DESIGN.md §3.6).
func (r *Refresher) release(ctx context.Context, account string, l *Lease, hb *heartbeat, rel Release) {
	if hb != nil {
		hb.end()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := r.leaser.Release(rctx, l, rel)
	switch {
	case errors.Is(err, ErrLeaseLost):
		r.log.Error("ALERT lease outlived: another holder took over", "account", account, "lease", maskKey(l.Key), "fence", l.Fence)
		r.events.LeaseOutlived(account)
	case err != nil:
		r.log.Warn("release lease", "account", account, "lease", maskKey(l.Key), "fence", l.Fence, "err", err)
	default:
		r.log.Info("lease released", "account", account, "lease", maskKey(l.Key), "fence", l.Fence)
	}
}

// versionStored tells the account states that version is now current, so
// that cooldowns set against older tokens end in every container. It runs
// after the release and only logs a failure: the token is stored.
func (r *Refresher) versionStored(ctx context.Context, account, version string, login bool) {
	if r.states == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := r.states.VersionStored(sctx, account, version, login); err != nil {
		r.log.Warn("record stored version", "account", account, "err", err)
	}
}
