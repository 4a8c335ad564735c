package codex

import (
	"context"
	"time"
)

// AccessOptions tune one AccessToken call.
type AccessOptions struct {
	// Force refreshes even when the cached token looks valid (the upstream
	// said otherwise, or an operator asked for it).
	Force bool
	// Rejected is the access token the upstream just refused. It is never
	// handed back; a token someone else produced meanwhile is adopted.
	Rejected string
	// Wait bounds how long this caller waits for a refresh (its own
	// container's, or another holder's it waits on) before it gets
	// ErrHolderBusy; zero waits for as long as ctx allows. The refresh goes
	// on either way.
	Wait time.Duration
}

// Credentials are what an upstream call needs: a usable access token and
// the ChatGPT account it belongs to.
type Credentials struct {
	Access    string
	AccountID string // ChatGPT-Account-Id header
	Plan      string
	ExpiresAt time.Time
	// Version is the secret version the token was read from.
	Version string
	// Minted is true when the token endpoint issued this token during the
	// refresh this call waited for; false when it was cached or adopted.
	// An upstream that rejects a minted token is at fault, not the token.
	Minted bool
}

// TokenSource is what callers of the refresh routine depend on; *Refresher
// implements it, and tests can substitute their own.
type TokenSource interface {
	AccessToken(ctx context.Context, account string, opts AccessOptions) (Credentials, error)
}
