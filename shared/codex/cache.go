package codex

import (
	"sync"
	"time"
)

// cached is one account's token as this container last saw it. Entries are
// immutable and swapped whole, so a reader never sees half an update.
type cached struct {
	version  Version
	creds    Credentials
	leaseKey string
}

func newCached(account string, v Version) *cached {
	c := v.Auth.Claims()
	return &cached{
		version:  v,
		leaseKey: LeaseKey(account, v.Auth),
		creds: Credentials{
			Access:    v.Auth.Token.Access,
			AccountID: v.Auth.Token.AccountID,
			Plan:      c.PlanType,
			ExpiresAt: v.Auth.Token.ExpiresAt,
			Version:   v.ID,
		},
	}
}

// tokenCache is the per-container cache: the warm path reads it without any
// AWS call.
type tokenCache struct{ m sync.Map } // account → *cached

func (c *tokenCache) get(account string) *cached {
	if v, ok := c.m.Load(account); ok {
		return v.(*cached)
	}
	return nil
}

func (c *tokenCache) put(account string, v Version) *cached {
	e := newCached(account, v)
	c.m.Store(account, e)
	return e
}

func (c *tokenCache) forget(account string) { c.m.Delete(account) }

// reauthMemo remembers briefly, per container, that an account needs a new
// login, so a burst of requests fails fast without touching AWS. It expires
// so that a fresh import is noticed without a restart.
type reauthMemo struct{ m sync.Map } // account → reauthEntry

type reauthEntry struct {
	err   *ReauthError
	until time.Time
}

func (r *reauthMemo) get(account string, now time.Time) *ReauthError {
	if v, ok := r.m.Load(account); ok {
		e := v.(reauthEntry)
		if now.Before(e.until) {
			return e.err
		}
		r.m.Delete(account)
	}
	return nil
}

func (r *reauthMemo) put(account string, err *ReauthError, until time.Time) {
	r.m.Store(account, reauthEntry{err: err, until: until})
}

func (r *reauthMemo) forget(account string) { r.m.Delete(account) }
