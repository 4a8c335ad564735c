package proxy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testclock"
)

// storeKeys is a key table shared by every "container" of a test: valid
// keys by plaintext, a count of lookups, and an optional gate every lookup
// waits on.
type storeKeys struct {
	mu    sync.Mutex
	valid map[string]string
	calls int
	gate  chan struct{}
}

func (s *storeKeys) VerifyKey(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	s.calls++
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.valid[key]; ok {
		return name, nil
	}
	return "", ErrInvalidKey
}

func (s *storeKeys) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

func (s *storeKeys) set(f func(s *storeKeys)) { s.mu.Lock(); defer s.mu.Unlock(); f(s) }

// TestKeyCache_Verify_KnownKeyNeverWaits: a known key is answered from the
// cache at any age below KeyMaxStale, even while the store hangs; past the
// TTL it is re-checked in the background, once; an unknown key waits for
// its one read.
func TestKeyCache_Verify_KnownKeyNeverWaits(t *testing.T) {
	clock := testclock.New(time.Unix(1_800_000_000, 0))
	store := &storeKeys{valid: map[string]string{"cgk_a": "laptop"}}
	c := newKeyCache(store, DefaultKeyCacheTTL, DefaultKeyMaxStale, clock.Now)
	ctx := context.Background()
	if name, _, _, err := c.verify(ctx, "cgk_a"); err != nil || name != "laptop" || store.count() != 1 {
		t.Fatalf("first verify = %q, %v after %d reads; want laptop after 1", name, err, store.count())
	}
	gate := make(chan struct{})
	store.set(func(s *storeKeys) { s.gate = gate }) // the store now hangs
	for _, age := range []time.Duration{10 * time.Second, 35 * time.Second, 59 * time.Second} {
		clock.Add(time.Unix(1_800_000_000, 0).Add(age).Sub(clock.Now()))
		done := make(chan error, 1)
		go func() { _, _, _, err := c.verify(ctx, "cgk_a"); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("at %s: %v", age, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("at %s: a known key waited for the store", age)
		}
	}
	// One background re-check for the two stale requests (at 35 s and 59 s).
	// It runs on its own goroutine: give it a moment to reach the store.
	for deadline := time.Now().Add(2 * time.Second); store.count() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := store.count(); n != 2 {
		t.Errorf("%d reads, want 2 (the first, one background re-check)", n)
	}
	close(gate)
	c.waitChecks()
	// The re-check started at 35 s confirmed the key: at 80 s it is 45 s
	// old, served from the cache again.
	clock.Add(time.Unix(1_800_000_000, 0).Add(80 * time.Second).Sub(clock.Now()))
	if _, _, _, err := c.verify(ctx, "cgk_a"); err != nil {
		t.Fatal(err)
	}
	c.waitChecks()
	if _, _, _, err := c.verify(ctx, "cgk_unknown"); err != errInvalidKey {
		t.Errorf("unknown key: %v", err)
	}
}

// TestKeyCache_Verify_RevokedWithinSixtySeconds: after a revocation, no
// container serves the key 60 s later, whatever its traffic: busy (a
// request a second), every 25 s, every 59 s, or idle since a confirmation
// just before the revocation.
func TestKeyCache_Verify_RevokedWithinSixtySeconds(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	revokeAt := t0.Add(100 * time.Second)
	containers := []struct {
		name  string
		first time.Duration // first request, after t0
		every time.Duration // then one request every
	}{
		{"busy", 0, time.Second},
		{"every25s", 3 * time.Second, 25 * time.Second},
		{"every59s", 7 * time.Second, 59 * time.Second},
		{"confirmedJustBefore", 99 * time.Second, 60 * time.Second},
		{"oncePerTTL", 1 * time.Second, DefaultKeyCacheTTL},
	}
	for _, tc := range containers {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(t0)
			store := &storeKeys{valid: map[string]string{"cgk_a": "laptop"}}
			c := newKeyCache(store, DefaultKeyCacheTTL, DefaultKeyMaxStale, clock.Now)
			var lastServed time.Time
			for at := t0.Add(tc.first); at.Before(revokeAt.Add(3 * time.Minute)); at = at.Add(tc.every) {
				if !at.Before(revokeAt) {
					store.set(func(s *storeKeys) { delete(s.valid, "cgk_a") })
				}
				clock.Add(at.Sub(clock.Now()))
				if _, _, _, err := c.verify(context.Background(), "cgk_a"); err == nil {
					lastServed = at
				}
				c.waitChecks() // a background re-check takes milliseconds
			}
			if !lastServed.Before(revokeAt.Add(DefaultKeyMaxStale)) {
				t.Errorf("served %s after the revocation, want under %s", lastServed.Sub(revokeAt), DefaultKeyMaxStale)
			}
		})
	}
}

// TestKeyCache_Verify_TimerRechecksKeyInUse: a key served is re-checked
// when its confirmation reaches the TTL, without a request (a long turn
// keeps it fresh for the next); an unused key is not re-checked again.
func TestKeyCache_Verify_TimerRechecksKeyInUse(t *testing.T) {
	store := &storeKeys{valid: map[string]string{"cgk_a": "laptop"}}
	c := newKeyCache(store, 50*time.Millisecond, time.Second, time.Now)
	if _, _, _, err := c.verify(context.Background(), "cgk_a"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for store.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := store.count(); n != 2 {
		t.Fatalf("%d reads, want the timer's re-check", n)
	}
	c.waitChecks()
	time.Sleep(200 * time.Millisecond)
	if n := store.count(); n != 2 {
		t.Errorf("%d reads, want no re-check of an unused key", n)
	}
}
