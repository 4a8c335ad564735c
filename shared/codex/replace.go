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
// refresh has just spent. It returns the new version id. The caller's
// context bounds the wait for the lease.
func (r *Refresher) Replace(ctx context.Context, account string, a *AuthFile, o ReplaceOptions) (string, error) {
	check := o.Check
	if check == nil {
		check = func(*Version) error { return nil }
	}
	for attempt := 1; attempt <= 3; attempt++ {
		cur, err := r.store.LoadCurrent(ctx, account)
		if errors.Is(err, ErrAccountNotFound) {
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
			return id, nil
		}
		if err != nil {
			return "", fmt.Errorf("store account %q: %w", account, err)
		}
		id, err := r.replaceUnderLease(ctx, account, newCached(account, cur), a, o.Waiting, check)
		var wrong *wrongLeaseError
		if errors.As(err, &wrong) {
			continue
		}
		return id, err
	}
	return "", fmt.Errorf("store account %q: the account's lease kept changing; try again", account)
}

func (r *Refresher) replaceUnderLease(ctx context.Context, account string, seen *cached, a *AuthFile, waiting func(), check func(*Version) error) (string, error) {
	hl, _, err := r.acquire(ctx, account, seen, nil, waiting)
	if err != nil {
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	l := hl.Lease
	hb := r.keepAlive(ctx, l, hl.sent)
	defer hb.end()
	cur, rel, err := r.readBase(ctx, account, l)
	if err != nil {
		r.release(ctx, account, l, rel)
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	if key := LeaseKey(account, cur.Auth); key != l.Key {
		r.release(ctx, account, l, rel)
		return "", &wrongLeaseError{held: l.Key, current: cur}
	}
	if err := check(&cur); err != nil {
		r.release(ctx, account, l, rel)
		return "", err
	}
	next := Version{ID: NewVersionID(), Auth: a}
	if err := r.persist(ctx, account, cur.ID, next, hb); err != nil {
		r.release(ctx, account, l, rel)
		return "", fmt.Errorf("store account %q: %w", account, err)
	}
	// A new login lifts a reauth mark and supersedes any intent.
	rel.CurrentVersion, rel.ClearPending = next.ID, true
	if _, ok := l.Reauth[account]; ok {
		rel.Reauth = maps.Clone(l.Reauth)
		delete(rel.Reauth, account)
	}
	r.release(ctx, account, l, rel)
	r.cache.forget(account)
	r.reauth.m.Delete(account)
	return next.ID, nil
}
