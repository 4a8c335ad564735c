package codex

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// ReplaceOptions tune Replace.
type ReplaceOptions struct {
	// Check judges the new login against the version current under the
	// lease (nil when the account has no secret yet); an error refuses it.
	Check func(current *Version) error
	// Waiting is called once if another holder (a refresh) holds the lease.
	Waiting func()
}

// Replace stores a new login as account's current version: what `codexgate
// import` and `login` do. It is ordered with every refresh by the account's
// lease, like any other write to the secret: a refresh in flight finishes
// (or its crashed intent is resolved) before the check runs and the new
// version is written, so an import can never put back a refresh token a
// refresh has just spent. A login whose refresh token the stored lineage
// already spent is refused whatever Check says (ErrSpentRefreshToken). A
// current version that cannot be parsed is replaced (Check sees nil). It
// returns the new version id. The caller's context bounds the wait for the
// lease.
func (r *Refresher) Replace(ctx context.Context, account string, a *AuthFile, o ReplaceOptions) (string, error) {
	check := o.Check
	if check == nil {
		check = func(*Version) error { return nil }
	}
	var seen *cached
	var hint *Version
	for attempt := 1; attempt <= 3; attempt++ {
		if seen == nil {
			cur, err := r.store.LoadCurrent(ctx, account)
			switch {
			case errors.Is(err, ErrAccountNotFound):
				// No secret, so no refresh to order with: create it.
				if err := check(nil); err != nil {
					return "", err
				}
				id := NewVersionID()
				err := r.store.Create(ctx, account, id, a)
				if errors.Is(err, ErrAccountExists) {
					continue // created concurrently: replace it under its lease
				}
				if err != nil {
					return "", fmt.Errorf("store account %q: %w", account, err)
				}
				r.cache.forget(account)
				r.versionStored(ctx, account, id, true)
				return id, nil
			case errors.Is(err, ErrInvalidAuthFile) && cur.ID != "":
				// Nothing can refresh an unreadable version, so no refresh
				// holds a lease on it: order with the new login's.
				seen = &cached{version: cur, leaseKey: LeaseKey(account, a)}
			case err != nil:
				return "", fmt.Errorf("store account %q: %w", account, err)
			default:
				seen = newCached(account, cur)
			}
		}
		id, err := r.replaceUnderLease(ctx, account, seen, hint, a, o.Waiting, check)
		var wrong *wrongLeaseError
		if errors.As(err, &wrong) {
			seen, hint = newCached(account, wrong.current), nil
			if wrong.named {
				hint = &wrong.current
			}
			continue
		}
		return id, err
	}
	return "", fmt.Errorf("store account %q: the account's lease kept changing; try again", account)
}

func (r *Refresher) replaceUnderLease(ctx context.Context, account string, seen *cached, hint *Version, a *AuthFile, waiting func(), check func(*Version) error) (string, error) {
	hl, _, err := r.acquire(ctx, account, seen, nil, waiting)
	if err != nil {
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	l := hl.Lease
	hb, done, cleanup := r.holding(ctx, account, hl)
	defer cleanup()
	cur, rel, err := r.readBase(ctx, account, l, hint)
	unreadable := errors.Is(err, ErrInvalidAuthFile) && cur.ID != ""
	if err != nil && !unreadable {
		done(rel)
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	var current *Version
	if !unreadable {
		if key := LeaseKey(account, cur.Auth); key != l.Key {
			done(rel)
			return "", &wrongLeaseError{held: l.Key, current: cur, named: l.Current[account] == cur.ID}
		}
		if cur.Auth.HasSpent(a.Token.Refresh) {
			done(rel)
			return "", fmt.Errorf("store account %q: %w", account, ErrSpentRefreshToken)
		}
		current = &cur
		a = a.inheritSpent(cur.Auth)
	}
	if err := check(current); err != nil {
		done(rel)
		return "", err
	}
	next := Version{ID: NewVersionID(), Auth: a}
	if err := r.persist(ctx, account, cur.ID, next, hb); err != nil {
		done(rel)
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	// A new login lifts a reauth mark and supersedes any intent.
	rel.name(account, next.ID)
	rel.ClearPending = true
	if _, ok := l.Reauth[account]; ok {
		rel.Reauth = maps.Clone(l.Reauth)
		delete(rel.Reauth, account)
	}
	done(rel)
	r.cache.forget(account)
	r.reauth.forget(account)
	r.versionStored(ctx, account, next.ID, true)
	return next.ID, nil
}
