package codex

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"
)

// underLease runs steps 4–8 of the protocol while holding l.
func (r *Refresher) underLease(ctx context.Context, account string, l *Lease, seenID string, opts AccessOptions) (Version, error) {
	log := r.log.With("account", account, "lease", maskKey(l.Key), "fence", l.Fence)
	rel := Release{}

	// 4. Re-read under the lease, never from a cache.
	cur, err := r.store.LoadCurrent(ctx, account)
	if err != nil {
		r.release(ctx, l, rel)
		return Version{}, fmt.Errorf("refresh account %q: re-read under lease: %w", account, err)
	}

	// 9. Recovery: finish what a crashed holder recorded.
	if p := l.Pending; p.Version != "" {
		recovered, err := r.recoverPending(ctx, p)
		if err != nil {
			r.release(ctx, l, rel)
			return Version{}, fmt.Errorf("refresh account %q: recover pending version: %w", account, err)
		}
		rel.ClearPending = true
		if recovered != nil && p.Account == account {
			cur = *recovered
		}
	}

	if m, ok := l.Reauth[account]; ok {
		if m.Version == cur.ID {
			r.release(ctx, l, rel)
			return Version{}, r.rememberReauth(account, m)
		}
		// The secret changed since the mark (a new login): lift it.
		rel.Reauth = maps.Clone(l.Reauth)
		delete(rel.Reauth, account)
	}

	// Adopt what someone else produced, or what is still good.
	if r.servable(cur.Auth.Token, opts, cur.ID == seenID) {
		rel.CurrentVersion = cur.ID
		r.release(ctx, l, rel)
		return cur, nil
	}

	// 5. Record intent before spending the refresh token.
	next := randomHex(16)
	if err := r.leaser.SetPending(ctx, l, Pending{Account: account, Version: next, Base: cur.ID}); err != nil {
		return Version{}, fmt.Errorf("refresh account %q: record pending version: %w", account, err)
	}
	rel.ClearPending = true
	if left := l.ExpiresAt.Sub(r.now()); left < r.oauthTimeout+r.persistTimeout {
		r.release(ctx, l, rel)
		return Version{}, fmt.Errorf("refresh account %q: %w: lease has %s left", account, ErrNoTime, left)
	}

	// 6. Refresh, detached from the caller, bounded by our own budget.
	start := r.now()
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.oauthTimeout)
	resp, err := r.oauth.Refresh(octx, cur.Auth.Token.Refresh)
	cancel()
	if err != nil {
		return r.refreshFailed(ctx, account, l, rel, cur, opts, err)
	}
	now := r.now()
	log.Info("token refreshed", "oauth_ms", now.Sub(start).Milliseconds())
	fresh := Version{ID: next, Auth: cur.Auth.WithToken(cur.Auth.Token.Merge(resp, now), now)}

	// 7. Durable write first, then compare-and-swap promote. Until both
	// succeed the rotated token exists only here: keep trying, keep the lease.
	if err := r.persist(ctx, account, cur.ID, fresh); errors.Is(err, ErrStaleVersion) {
		// Stored, but a newer login or holder moved AWSCURRENT: theirs wins.
		log.Warn("rotated token stored but not promoted: current version moved", "version", next)
		if v, rerr := r.store.LoadCurrent(ctx, account); rerr == nil && r.servable(v.Auth.Token, opts, false) {
			rel.CurrentVersion = v.ID
			r.release(ctx, l, rel)
			return v, nil
		}
		r.release(ctx, l, rel)
		return Version{}, fmt.Errorf("refresh account %q: %w", account, err)
	} else if err != nil {
		log.Error("ALERT rotated token not stored; lease kept for recovery", "version", next, "err", err)
		return Version{}, fmt.Errorf("refresh account %q: store rotated token: %w", account, err)
	}
	log.Info("token stored and promoted", "version", next, "persist_ms", r.now().Sub(now).Milliseconds())

	// 8. Release, keeping the fence.
	rel.CurrentVersion, rel.LastRefresh = next, now
	r.release(ctx, l, rel)
	return fresh, nil
}

// refreshFailed handles an OAuth error under the lease. A terminal error
// marks the account reauth_required, unless another writer already holds a
// newer token (the one case a reuse error is not the end of the login).
func (r *Refresher) refreshFailed(ctx context.Context, account string, l *Lease, rel Release, cur Version, opts AccessOptions, err error) (Version, error) {
	var oe *OAuthError
	if !errors.As(err, &oe) || !oe.Terminal() {
		r.release(ctx, l, rel)
		return Version{}, fmt.Errorf("refresh account %q: %w", account, err)
	}
	if oe.Code == "refresh_token_reused" {
		if v, rerr := r.store.LoadCurrent(ctx, account); rerr == nil && v.ID != cur.ID && r.servable(v.Auth.Token, opts, false) {
			rel.CurrentVersion = v.ID
			r.release(ctx, l, rel)
			return v, nil
		}
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
	r.release(ctx, l, rel)
	if r.states != nil {
		if serr := r.states.MarkReauthRequired(ctx, account, reason); serr != nil {
			r.log.Error("record reauth_required", "account", account, "err", serr)
		}
	}
	r.log.Error("ALERT account needs re-login", "account", account, "reason", reason)
	return Version{}, fmt.Errorf("%w (%v)", r.rememberReauth(account, mark), err)
}

func (r *Refresher) rememberReauth(account string, m ReauthMark) *ReauthError {
	e := &ReauthError{Account: account, Reason: m.Reason, Since: m.At}
	r.reauth.put(account, e, r.now().Add(r.reauthMemoTTL))
	return e
}

// persist writes the pending version and promotes it over base, retrying
// transient failures until the caller's deadline, past our own persist
// budget if need be: until the write lands the rotated token exists only in
// memory. Both writes stay safe after the lease ends (the version is only
// pending; the promote is a compare-and-swap). A stale base means a newer
// login was imported meanwhile or another holder took over: theirs wins.
func (r *Refresher) persist(ctx context.Context, account, base string, v Version) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = r.now().Add(r.maxWait)
	}
	pctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), dl)
	defer cancel()
	if err := retry(pctx, func() error { return r.store.WritePending(pctx, account, v.ID, v.Auth) }); err != nil {
		return fmt.Errorf("write pending version: %w", err)
	}
	err := retry(pctx, func() error {
		err := r.store.Promote(pctx, account, base, v.ID)
		if errors.Is(err, ErrStaleVersion) {
			return permanent{err}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("promote version: %w", err)
	}
	return nil
}

// recoverPending promotes a version a crashed holder wrote but did not
// promote, while the version it was derived from is still current, and
// returns it; nil when there was nothing to finish.
func (r *Refresher) recoverPending(ctx context.Context, p Pending) (*Version, error) {
	v, err := r.store.LoadVersion(ctx, p.Account, p.Version)
	if errors.Is(err, ErrVersionNotFound) {
		return nil, nil // crashed before the durable write: nothing to finish
	} else if err != nil {
		return nil, err
	}
	switch err := r.store.Promote(ctx, p.Account, p.Base, p.Version); {
	case errors.Is(err, ErrStaleVersion):
		return nil, nil // the base moved on: a newer login won
	case err != nil:
		return nil, err
	}
	r.log.Warn("recovered pending version left by a crashed holder", "account", p.Account, "version", p.Version)
	return &v, nil
}

// release ends the lease. Failing to release is logged, not returned: the
// token is already stored, and the lease expires on its own.
func (r *Refresher) release(ctx context.Context, l *Lease, rel Release) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := r.leaser.Release(rctx, l, rel)
	switch {
	case errors.Is(err, ErrLeaseLost):
		r.log.Error("ALERT lease outlived: another holder took over", "lease", maskKey(l.Key), "fence", l.Fence)
	case err != nil:
		r.log.Warn("release lease", "lease", maskKey(l.Key), "fence", l.Fence, "err", err)
	default:
		r.log.Info("lease released", "lease", maskKey(l.Key), "fence", l.Fence)
	}
}

// permanent marks an error retry must not repeat.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs op with jittered backoff until it succeeds, fails permanently
// or ctx ends.
func retry(ctx context.Context, op func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := op()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		if serr := sleep(ctx, jitter(delay)); serr != nil {
			return err
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// jitter spreads d over [d/2, d] so that many containers don't retry in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
