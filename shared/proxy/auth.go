package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/metering"
)

// clientKey extracts the codexgate key: "Authorization: Bearer <key>" or
// "x-api-key: <key>". An empty string means none was sent.
func clientKey(h http.Header) string {
	if a := h.Get("Authorization"); a != "" {
		if scheme, key, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(key)
		}
		return ""
	}
	return strings.TrimSpace(h.Get("X-Api-Key"))
}

// authenticate verifies the request's key and returns its name and routing
// controls (keyctl.go). Errors are errMissingKey, errInvalidKey or
// errKeyCheck wrapping the store's error, and a key past its daily or
// weekly budget is refused (budget.go), both from container caches on a
// warm request.
func (p *Proxy) authenticate(r *http.Request) (string, *keyControls, error) {
	key := clientKey(r.Header)
	if key == "" {
		return "", nil, errMissingKey
	}
	name, budget, ctl, err := p.keys.verify(r.Context(), key)
	if err != nil {
		return "", nil, err
	}
	if err := p.meter.Check(name, budget); err != nil {
		var ob *metering.OverBudget
		if !errors.As(err, &ob) {
			return "", nil, fmt.Errorf("check key budget: %w", err)
		}
		if p.cfg.BudgetEvents != nil {
			p.cfg.BudgetEvents.BudgetRefused(name, ob.Budget)
		}
		return "", nil, errBudget(ob)
	}
	return name, ctl, nil
}

// BudgetEvents hears of every request refused for a budget (budget is
// "daily" or "weekly"); metrics.BudgetEvents emits it as a metric.
type BudgetEvents interface {
	BudgetRefused(key, budget string)
}

// errBudget is the 429 for a key past its daily or weekly budget. The
// Messages front answers it as Anthropic's rate_limit_error.
func errBudget(ob *metering.OverBudget) *apiError {
	return &apiError{status: http.StatusTooManyRequests, typ: "insufficient_quota", code: "insufficient_quota",
		message: ob.Error(), resetsAt: ob.ResetsAt}
}

// keyCache remembers verified keys, so that a warm request for a known key
// makes no store call before its first byte, and a revoked key stops
// working in every container within maxStale:
//
//   - confirmed less than ttl ago: served from memory;
//   - confirmed ttl to maxStale ago: served from memory, and re-checked in
//     the background (one check at a time per key);
//   - confirmed maxStale ago or more, or unknown: the request waits for one
//     consistent read, as an unknown key's does.
//
// A key in use is also re-checked when its confirmation reaches ttl, by a
// timer armed when it is served (it fires while the container runs, e.g.
// during a long turn), so back-to-back turns of a minute find it fresh.
// A confirmation counts from when its read started, so a revocation that
// read missed is caught by the next. Entries are keyed by the key's
// SHA-256 and hold the digest, compared in constant time; the plaintext
// stays in memory only as long as the entry, for its re-check, and is never
// logged. A key the store rejected is remembered (by digest) for
// rejectTTL, so a client retrying a wrong key, or someone hammering one,
// costs one consistent read per rejectTTL and container, not one per
// request.
type keyCache struct {
	verifier KeyVerifier
	ttl      time.Duration
	maxStale time.Duration
	now      func() time.Time

	mu       sync.Mutex
	m        map[[sha256.Size]byte]*keyEntry
	rejected map[[sha256.Size]byte]time.Time // digest → until when it is answered 401 without a lookup
	checks   sync.WaitGroup                  // background re-checks in flight
}

// rejectTTL is how long a rejected key is answered from memory. Short: a
// key created right after a client tried it works within this time.
const rejectTTL = 10 * time.Second

// maxRejectedKeys bounds the rejected set; beyond it, it starts over.
const maxRejectedKeys = 4096

type keyEntry struct {
	digest   [sha256.Size]byte
	key      string // for the background re-check only; never logged
	name     string
	budget   metering.KeyBudget // the key's token budgets, when the verifier tells them
	ctl      *keyControls       // the key's routing controls, when the verifier tells them
	checked  time.Time          // when the read that last confirmed the key started
	used     time.Time          // when a request was last served with it
	checking bool               // a background re-check is running
	armed    bool               // a timer re-checks it when its confirmation reaches ttl
}

// maxCachedKeys bounds the cache; a team has a handful of keys.
const maxCachedKeys = 1024

// keyCheckTimeout bounds one store lookup.
const keyCheckTimeout = 5 * time.Second

func newKeyCache(v KeyVerifier, ttl, maxStale time.Duration, now func() time.Time) *keyCache {
	return &keyCache{verifier: v, ttl: ttl, maxStale: max(maxStale, ttl), now: now,
		m: map[[sha256.Size]byte]*keyEntry{}, rejected: map[[sha256.Size]byte]time.Time{}}
}

func (c *keyCache) verify(ctx context.Context, key string) (string, metering.KeyBudget, *keyControls, error) {
	digest := sha256.Sum256([]byte(key))
	now := c.now()
	c.mu.Lock()
	if e := c.m[digest]; e != nil && subtle.ConstantTimeCompare(e.digest[:], digest[:]) == 1 {
		if age := now.Sub(e.checked); age < c.maxStale {
			e.used = now
			if age >= c.ttl {
				c.recheckLocked(e)
			} else {
				c.armLocked(e, c.ttl-age)
			}
			name, budget, ctl := e.name, e.budget, e.ctl
			c.mu.Unlock()
			return name, budget, ctl, nil
		}
	}
	until, rejected := c.rejected[digest]
	c.mu.Unlock()
	if rejected && now.Before(until) {
		return "", metering.KeyBudget{}, nil, errInvalidKey
	}
	name, budget, ctl, err := c.lookup(ctx, key)
	switch {
	case errors.Is(err, ErrInvalidKey):
		c.reject(digest, now)
		return "", metering.KeyBudget{}, nil, errInvalidKey
	case err != nil:
		return "", metering.KeyBudget{}, nil, fmt.Errorf("%w: verify key: %w", errKeyCheck, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedKeys {
		for d, e := range c.m {
			if now.Sub(e.checked) >= c.maxStale {
				delete(c.m, d)
			}
		}
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
	}
	e := c.m[digest]
	if e == nil {
		e = &keyEntry{digest: digest, key: key}
		c.m[digest] = e
	}
	e.name, e.budget, e.ctl, e.checked, e.used = name, budget, ctl, now, now
	c.armLocked(e, c.ttl)
	return name, budget, ctl, nil
}

// lookup asks the store about key, with the budgets and routing controls
// when it can tell them.
func (c *keyCache) lookup(ctx context.Context, key string) (string, metering.KeyBudget, *keyControls, error) {
	vctx, cancel := context.WithTimeout(ctx, keyCheckTimeout)
	defer cancel()
	if v, ok := c.verifier.(KeyInfoVerifier); ok {
		info, err := v.VerifyKeyInfo(vctx, key)
		return info.Name, info.Budget, newKeyControls(info), err
	}
	name, err := c.verifier.VerifyKey(vctx, key)
	return name, metering.KeyBudget{}, nil, err
}

// armLocked makes sure a timer re-checks e in d, if it is still used then.
func (c *keyCache) armLocked(e *keyEntry, d time.Duration) {
	if e.armed {
		return
	}
	e.armed = true
	time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		e.armed = false
		// Only a key served since its last confirmation, and still cached.
		if c.m[e.digest] == e && !e.used.Before(e.checked) && c.now().Sub(e.checked) >= c.ttl {
			c.recheckLocked(e)
		}
	})
}

// recheckLocked starts a background re-check of e unless one runs: a valid
// answer renews its confirmation, a rejection drops it (the key is
// revoked), a store error leaves it to the next request or timer.
func (c *keyCache) recheckLocked(e *keyEntry) {
	if e.checking {
		return
	}
	e.checking = true
	c.checks.Add(1)
	go func() {
		defer c.checks.Done()
		start := c.now()
		name, budget, ctl, err := c.lookup(context.Background(), e.key)
		if errors.Is(err, ErrInvalidKey) {
			c.reject(e.digest, start)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		e.checking = false
		if err == nil && c.m[e.digest] == e {
			e.name, e.budget, e.ctl, e.checked = name, budget, ctl, start
		}
	}()
}

// waitChecks waits for the background re-checks in flight (tests).
func (c *keyCache) waitChecks() { c.checks.Wait() }

// reject forgets a verified entry for digest (the key was revoked) and
// answers it from memory for rejectTTL.
func (c *keyCache) reject(digest [sha256.Size]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, digest)
	if len(c.rejected) >= maxRejectedKeys {
		for d, until := range c.rejected {
			if !now.Before(until) {
				delete(c.rejected, d)
			}
		}
		if len(c.rejected) >= maxRejectedKeys {
			clear(c.rejected)
		}
	}
	c.rejected[digest] = now.Add(rejectTTL)
}
