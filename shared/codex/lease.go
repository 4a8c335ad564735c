package codex

import (
	"context"
	"time"
)

// Lease is a holder's claim on one lease key (one ChatGPT account), as the
// lease item stood right after Acquire.
type Lease struct {
	Key       string
	Owner     string    // unique per attempt
	Fence     int64     // grows by one on every acquire; never reset
	ExpiresAt time.Time // by the holder's clock: DynamoDB has none

	// Pending is the intent an earlier holder recorded and may not have
	// finished (zero when none).
	Pending        Pending
	CurrentVersion string // the version the last successful holder promoted
	LastRefresh    time.Time
	// Reauth marks, by account (secret name), logins found dead. A mark only
	// applies while the secret still holds the version it names: importing a
	// new login writes a new version and so lifts the mark.
	Reauth map[string]ReauthMark
}

// ReauthMark records a terminal refresh failure for one secret version.
type ReauthMark struct {
	Version string
	Reason  string
	At      time.Time
}

// Pending is a holder's recorded intent: it will write Version of Account's
// secret, derived from version Base. A later holder promotes Version only
// while Base is still current, so a newer login imported meanwhile wins.
type Pending struct {
	Account string
	Version string
	Base    string
}

// Release says what a holder leaves on the lease item when it lets go.
type Release struct {
	CurrentVersion string    // version now AWSCURRENT, when known
	LastRefresh    time.Time // zero when this holder did not refresh
	ClearPending   bool      // the recorded pending version is resolved
	// Reauth replaces the item's reauth marks (the holder read them at
	// acquire and may add or drop one); nil leaves them as they are.
	Reauth map[string]ReauthMark
}

// Leaser grants per-key leases across processes. Implementations compare
// owner and fence on every write, so a holder that outlived its lease fails
// with ErrLeaseLost instead of overwriting a newer holder's state.
type Leaser interface {
	// Acquire takes the lease when it is free, expired or already owner's,
	// adding one to the fence. When someone else holds it, the error is a
	// *LeaseHeldError. A write whose outcome is unknown is resolved by a
	// consistent read: owner == ours means acquired.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) (*Lease, error)
	// SetPending records the version id the holder will write, before it
	// calls OAuth, so that a later holder can finish a crashed attempt.
	// Stored as pending_account, pending_version and pending_base.
	SetPending(ctx context.Context, l *Lease, p Pending) error
	// Release ends the lease (expiry 0) without deleting the item, so the
	// fence survives.
	Release(ctx context.Context, l *Lease, r Release) error
}
