package codex

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrReauthRequired means the account's login is gone (terminal OAuth
	// error): a person must run `codexgate login` or `codexgate import`.
	ErrReauthRequired = errors.New("account needs re-login")
	// ErrAccountNotFound means no secret exists for the account.
	ErrAccountNotFound = errors.New("account not found")
	// ErrLeaseHeld means another holder owns an unexpired lease.
	ErrLeaseHeld = errors.New("refresh lease held by another holder")
	// ErrLeaseLost means the lease's owner or fence changed under us: we
	// outlived it and someone else took over.
	ErrLeaseLost = errors.New("refresh lease lost")
	// ErrStaleVersion means a compare-and-swap promote failed because the
	// current secret version is no longer the one we read.
	ErrStaleVersion = errors.New("secret version is stale")
	// ErrAccountExists means a secret to be created exists already.
	ErrAccountExists = errors.New("account exists")
	// ErrVersionNotFound means a secret version id does not exist.
	ErrVersionNotFound = errors.New("secret version not found")
	// ErrNoTime means the caller's deadline leaves too little time to refresh
	// and store a token safely, so the refresh was not started.
	ErrNoTime = errors.New("not enough time left to refresh safely")
	// ErrRefreshRateLimited means the account refreshed so often that one
	// more refresh would risk Secrets Manager's version quota.
	ErrRefreshRateLimited = errors.New("account refreshed too often")
)

// RateLimitedError reports a refresh refused by the account's refresh
// budget, and when one will be allowed again.
type RateLimitedError struct {
	Account string
	RetryAt time.Time
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("account %q refreshed too often (a guard against Secrets Manager's version quota): next refresh allowed at %s",
		e.Account, e.RetryAt.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrRefreshRateLimited) true.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRefreshRateLimited }

// ReauthError reports an account that needs a new login, and why.
type ReauthError struct {
	Account string
	Reason  string // the OAuth error code, e.g. refresh_token_reused
	Since   time.Time
}

func (e *ReauthError) Error() string {
	return fmt.Sprintf("account %q needs re-login (%s): run `codexgate login --account %s` or `codexgate import`", e.Account, e.Reason, e.Account)
}

// Is makes errors.Is(err, ErrReauthRequired) true.
func (e *ReauthError) Is(target error) bool { return target == ErrReauthRequired }

// LeaseHeldError reports who holds a lease: the record a waiter watches.
// Owner, Fence and Beat change whenever the holder acquires or renews; TTL
// is how long the holder may go without renewing.
type LeaseHeldError struct {
	Owner     string
	Fence     int64
	Beat      int64
	TTL       time.Duration
	ExpiresAt time.Time // by the holder's clock: informational only
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("refresh lease held by %s (fence %d, beat %d, lease %s)", e.Owner, e.Fence, e.Beat, e.TTL)
}

// sameRecord reports whether e and o describe the same lease record.
func (e *LeaseHeldError) sameRecord(o *LeaseHeldError) bool {
	return o != nil && e.Owner == o.Owner && e.Fence == o.Fence && e.Beat == o.Beat
}

// Is makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// OAuthError is an error answer (or no answer) from the token endpoint.
type OAuthError struct {
	Status  int    // HTTP status; 0 when no response arrived
	Code    string // OpenAI error code, e.g. refresh_token_reused
	Message string
	Err     error // transport error when Status is 0
}

func (e *OAuthError) Error() string {
	switch {
	case e.Status == 0:
		return fmt.Sprintf("token endpoint unreachable: %v", e.Err)
	case e.Code != "":
		return fmt.Sprintf("token endpoint: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	default:
		return fmt.Sprintf("token endpoint: HTTP %d: %s", e.Status, e.Message)
	}
}

func (e *OAuthError) Unwrap() error { return e.Err }

// Terminal reports whether retrying can never help: the refresh token (or the
// whole login) is dead, or the region is blocked.
func (e *OAuthError) Terminal() bool {
	if e.Status == 401 || terminalCodes[e.Code] {
		return true
	}
	return e.Status == 403 && e.Code == "unsupported_country_region_territory"
}

// Transient reports whether a retry may succeed: no answer, 408, 429, 5xx.
func (e *OAuthError) Transient() bool {
	if e.Terminal() {
		return false
	}
	return e.Status == 0 || e.Status == 408 || e.Status == 429 || e.Status >= 500
}

// terminalCodes are token-endpoint error codes that end a login (docs/DESIGN.md §6.2).
var terminalCodes = map[string]bool{
	"refresh_token_reused":      true,
	"refresh_token_expired":     true,
	"refresh_token_invalidated": true,
	"token_expired":             true,
	"invalid_grant":             true,
	"invalid_refresh_token":     true,
	"app_session_terminated":    true,
}
