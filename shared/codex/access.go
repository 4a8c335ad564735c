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
}

// Credentials are what an upstream call needs: a usable access token and
// the ChatGPT account it belongs to.
type Credentials struct {
	Access    string
	AccountID string // ChatGPT-Account-Id header
	Plan      string
	ExpiresAt time.Time
}

// TokenSource is what callers of the refresh routine depend on; *Refresher
// implements it, and tests can substitute their own.
type TokenSource interface {
	AccessToken(ctx context.Context, account string, opts AccessOptions) (Credentials, error)
}
