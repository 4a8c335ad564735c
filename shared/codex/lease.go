package codex

import (
	"context"
	"time"
)

// Lease is a holder's claim on one lease key (one ChatGPT account), as the
// lease item stood right after Acquire.
type Lease struct {
	Key       string
	Owner     string        // unique per attempt
	Fence     int64         // grows by one on every acquire; never reset
	TTL       time.Duration // the holder's lease duration, renewed by heartbeats
	ExpiresAt time.Time     // by the holder's clock: informational only, never compared across machines

	// Pending is the intent an earlier holder recorded and may not have
	// finished (zero when none).
	Pending Pending
	// Current names, by account (secret name), the version the last holder
	// left AWSCURRENT. Holders derive from it rather than from a read of
	// AWSCURRENT, which may still return the previous version after a promote.
	Current     map[string]string
	LastRefresh time.Time
	// Budget is the account's refresh-rate bucket as the last holder left it.
	Budget RefreshBudget
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

// name records in r that version id is account's current version.
func (r *Release) name(account, id string) {
	if r.Current == nil {
		r.Current = map[string]string{}
	}
	r.Current[account] = id
}

// Pending is a holder's recorded intent: it will write Version of Account's
// secret, derived from version Base. A later holder promotes Version only
// while Base is still current, so a newer login imported meanwhile wins.
type Pending struct {
	Account string
	Version string
	Base    string
}

// RefreshBudget is a token bucket shared by every container through the
// lease item: each refresh spends one token, and tokens come back at a fixed
// rate. It keeps an account far below Secrets Manager's version quota
// whatever its callers do (see RefreshRate).
type RefreshBudget struct {
	Tokens float64
	At     time.Time // when Tokens was computed (zero: never: a full bucket)
}

// Release says what a holder leaves on the lease item when it lets go.
type Release struct {
	// Current names, by account (secret name), the versions this holder
	// knows to be AWSCURRENT: the one it read or wrote, and any it promoted
	// while recovering intent. Merged into the item's map (an empty id
	// removes the account's name); nil leaves it.
	Current      map[string]string
	LastRefresh  time.Time // zero when this holder did not refresh
	ClearPending bool      // the recorded pending version is resolved
	// Reauth replaces the item's reauth marks (the holder read them at
	// acquire and may add or drop one); nil leaves them as they are.
	Reauth map[string]ReauthMark
}

// Leaser grants per-key leases across processes. Implementations compare
// owner and fence on every write, so a holder that outlived its lease fails
// with ErrLeaseLost instead of overwriting a newer holder's state.
//
// No implementation compares a stored time with its own clock: machines'
// clocks disagree (a laptop after sleep is minutes off). A lease is free when
// it was never taken or was released; a holder that vanished is taken over
// only by a caller that watched the same record (owner, fence, beat) stand
// still for a full lease duration on its own clock and passes that record
// as stale.
type Leaser interface {
	// Acquire takes the lease when it is free or already owner's, or when
	// stale is non-nil and the item still is exactly that record, adding one
	// to the fence. When someone else holds it, the error is a
	// *LeaseHeldError describing the record. A write whose outcome is
	// unknown is resolved by a consistent read: owner == ours means acquired.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *LeaseHeldError) (*Lease, error)
	// Renew proves the holder alive: it advances the record's beat and
	// expiry, on condition of owner and fence and of the lease not being
	// released (else ErrLeaseLost): a renewal that arrives after its
	// release must not hold the account again.
	Renew(ctx context.Context, l *Lease, ttl time.Duration) error
	// SetPending records the version id the holder will write, before it
	// calls OAuth, so that a later holder can finish a crashed attempt, and
	// the refresh budget left after this refresh.
	SetPending(ctx context.Context, l *Lease, p Pending, b RefreshBudget) error
	// Release ends the lease (expiry 0) without deleting the item, so the
	// fence survives.
	Release(ctx context.Context, l *Lease, r Release) error
	// Inspect reads the item of key consistently, as a waiter sees it (a
	// zero record when there is none), without taking it.
	Inspect(ctx context.Context, key string) (*LeaseHeldError, error)
}
