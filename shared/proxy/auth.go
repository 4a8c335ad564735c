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

// authenticate verifies the request's key and returns its name. Errors are
// errMissingKey, errInvalidKey or errKeyCheck wrapping the store's error,
// and a key past its daily or weekly budget is refused (budget.go), both
// from container caches on a warm request.
func (p *Proxy) authenticate(r *http.Request) (string, error) {
	key := clientKey(r.Header)
	if key == "" {
		return "", errMissingKey
	}
	name, budget, err := p.keys.verify(r.Context(), key)
	if err != nil {
		return "", err
	}
	if err := p.meter.Check(name, budget); err != nil {
		var ob *metering.OverBudget
		if !errors.As(err, &ob) {
			return "", fmt.Errorf("check key budget: %w", err)
		}
		if p.cfg.BudgetEvents != nil {
			p.cfg.BudgetEvents.BudgetRefused(name, ob.Budget)
		}
		return "", errBudget(ob)
	}
	return name, nil
}

// KeyBudgetVerifier is a KeyVerifier that also returns the key's budgets.
// They are cached with the key (Config.KeyCacheTTL), so a key without one
// costs nothing more.
type KeyBudgetVerifier interface {
	VerifyKeyBudget(ctx context.Context, key string) (name string, b metering.KeyBudget, err error)
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

// keyCache remembers verified keys for a short TTL, so a warm request makes
// no store call and a revocation takes effect within the TTL. Entries are
// keyed by the key's SHA-256 and hold the digest itself, compared in
// constant time; the key is never stored. A key the store rejected is
// remembered (by digest) for rejectTTL, so a client retrying a wrong key,
// or someone hammering one, costs one consistent read per rejectTTL and
// container, not one per request.
type keyCache struct {
	verifier KeyVerifier
	ttl      time.Duration
	now      func() time.Time

	mu       sync.Mutex
	m        map[[sha256.Size]byte]keyEntry
	rejected map[[sha256.Size]byte]time.Time // digest → until when it is answered 401 without a lookup
}

// rejectTTL is how long a rejected key is answered from memory. Short: a
// key created right after a client tried it works within this time.
const rejectTTL = 10 * time.Second

// maxRejectedKeys bounds the rejected set; beyond it, it starts over.
const maxRejectedKeys = 4096

type keyEntry struct {
	digest  [sha256.Size]byte
	name    string
	budget  metering.KeyBudget // the key's token budgets, when the verifier tells them
	expires time.Time
}

// maxCachedKeys bounds the cache; a team has a handful of keys.
const maxCachedKeys = 1024

// keyCheckTimeout bounds one store lookup.
const keyCheckTimeout = 5 * time.Second

func newKeyCache(v KeyVerifier, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{verifier: v, ttl: ttl, now: now, m: map[[sha256.Size]byte]keyEntry{}, rejected: map[[sha256.Size]byte]time.Time{}}
}

func (c *keyCache) verify(ctx context.Context, key string) (string, metering.KeyBudget, error) {
	digest := sha256.Sum256([]byte(key))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[digest]
	until, rejected := c.rejected[digest]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && subtle.ConstantTimeCompare(e.digest[:], digest[:]) == 1 {
		return e.name, e.budget, nil
	}
	if rejected && now.Before(until) {
		return "", metering.KeyBudget{}, errInvalidKey
	}
	vctx, cancel := context.WithTimeout(ctx, keyCheckTimeout)
	defer cancel()
	var (
		name   string
		budget metering.KeyBudget
		err    error
	)
	if bv, ok := c.verifier.(KeyBudgetVerifier); ok {
		name, budget, err = bv.VerifyKeyBudget(vctx, key)
	} else {
		name, err = c.verifier.VerifyKey(vctx, key)
	}
	switch {
	case errors.Is(err, ErrInvalidKey):
		c.reject(digest, now)
		return "", metering.KeyBudget{}, errInvalidKey
	case err != nil:
		return "", metering.KeyBudget{}, fmt.Errorf("%w: verify key: %w", errKeyCheck, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedKeys {
		for d, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, d)
			}
		}
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
	}
	c.m[digest] = keyEntry{digest: digest, name: name, budget: budget, expires: now.Add(c.ttl)}
	return name, budget, nil
}

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
