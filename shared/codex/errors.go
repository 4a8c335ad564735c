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
	// ErrLeaseHeld means another holder owns the lease and has not let go.
	ErrLeaseHeld = errors.New("refresh lease held by another holder")
	// ErrHolderBusy means the caller's wait for another holder's refresh
	// (AccessOptions.Wait) ran out; the refresh goes on without it.
	ErrHolderBusy = errors.New("another holder is refreshing the account")
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
	// ErrSpentRefreshToken means a login to be stored holds a refresh token
	// the stored lineage already spent: its next refresh would be a reuse,
	// and OpenAI would revoke the whole login.
	ErrSpentRefreshToken = errors.New("its refresh token was already spent by a refresh codexgate made, so storing it would get the login revoked; log in again (`codexgate login`) or keep the stored login")
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
	// Current is the item's map of current versions (see Lease.Current):
	// a waiter adopts what it names, never what a read of AWSCURRENT says.
	Current map[string]string
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
	// MaybeRotated is set when the request reached the server and no
	// definite answer came back (a gateway error, a connection lost after
	// sending, a timeout, a 200 that could not be read): the token endpoint
	// may have rotated the refresh token. Such a call is never retried.
	MaybeRotated bool
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
// Only a transient error that is not MaybeRotated may be retried at once.
func (e *OAuthError) Transient() bool {
	if e.Terminal() {
		return false
	}
	return e.Status == 0 || e.Status == 408 || e.Status == 429 || e.Status >= 500
}

// retryable reports whether the same refresh token may be sent again now:
// the server surely did not act on this attempt.
func (e *OAuthError) retryable() bool { return e.Transient() && !e.MaybeRotated }

// ambiguousStatus are answers from a gateway in front of the token endpoint
// that say nothing of whether the endpoint acted on the request.
var ambiguousStatus = map[int]bool{502: true, 504: true}

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
