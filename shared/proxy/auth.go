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
// errMissingKey, errInvalidKey or errKeyCheck wrapping the store's error.
func (p *Proxy) authenticate(r *http.Request) (string, error) {
	key := clientKey(r.Header)
	if key == "" {
		return "", errMissingKey
	}
	return p.keys.verify(r.Context(), key)
}

// keyCache remembers verified keys for a short TTL, so a warm request makes
// no store call and a revocation takes effect within the TTL. Entries are
// keyed by the key's SHA-256 and hold the digest itself, compared in
// constant time; the key is never stored. Failed verifications are not
// cached.
type keyCache struct {
	verifier KeyVerifier
	ttl      time.Duration
	now      func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]keyEntry
}

type keyEntry struct {
	digest  [sha256.Size]byte
	name    string
	expires time.Time
}

// maxCachedKeys bounds the cache; a team has a handful of keys.
const maxCachedKeys = 1024

// keyCheckTimeout bounds one store lookup.
const keyCheckTimeout = 5 * time.Second

func newKeyCache(v KeyVerifier, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{verifier: v, ttl: ttl, now: now, m: map[[sha256.Size]byte]keyEntry{}}
}

func (c *keyCache) verify(ctx context.Context, key string) (string, error) {
	digest := sha256.Sum256([]byte(key))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[digest]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && subtle.ConstantTimeCompare(e.digest[:], digest[:]) == 1 {
		return e.name, nil
	}
	vctx, cancel := context.WithTimeout(ctx, keyCheckTimeout)
	defer cancel()
	name, err := c.verifier.VerifyKey(vctx, key)
	switch {
	case errors.Is(err, ErrInvalidKey):
		c.forget(digest)
		return "", errInvalidKey
	case err != nil:
		return "", fmt.Errorf("%w: verify key: %w", errKeyCheck, err)
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
	c.m[digest] = keyEntry{digest: digest, name: name, expires: now.Add(c.ttl)}
	return name, nil
}

func (c *keyCache) forget(digest [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.m, digest)
	c.mu.Unlock()
}
