package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/wire/messages"
	"github.com/codexgate/codexgate/shared/wire/models"
)

// KeyVerifier checks codexgate client API keys. The statestore implements
// the lookup (it stores only SHA-256 digests of keys).
type KeyVerifier interface {
	// VerifyKey returns the key's name (for logs) when key is a valid,
	// unrevoked codexgate API key, and an error wrapping ErrInvalidKey when it
	// is not. Any other error means the check could not be made (store
	// unreachable): the client gets 503 and nothing is cached.
	VerifyKey(ctx context.Context, key string) (name string, err error)
}

// KeyVerifierFunc adapts a function to KeyVerifier.
type KeyVerifierFunc func(ctx context.Context, key string) (string, error)

// VerifyKey calls f(ctx, key).
func (f KeyVerifierFunc) VerifyKey(ctx context.Context, key string) (string, error) {
	return f(ctx, key)
}

// ErrInvalidKey is what a KeyVerifier returns (wrapped or not) for a key that
// is unknown or revoked.
var ErrInvalidKey = errors.New("invalid codexgate API key")

// AccountLister lists the accounts the proxy may use (one per stored
// auth.json secret). secretstore.Store implements it.
type AccountLister interface {
	List(ctx context.Context) ([]string, error)
}

// StateStore is the proxy's view of the account-state table.
type StateStore interface {
	// AccountStates loads every account's health and latest quota snapshot
	// in one call. Accounts without a state record are simply absent.
	AccountStates(ctx context.Context) ([]AccountState, error)
	// SetCooldown keeps every container off the account until until.
	SetCooldown(ctx context.Context, account string, until time.Time, reason string) error
	// SetUnauthorized keeps every container off the account until until
	// because the upstream rejected the token of version; strikes counts
	// such cooldowns in a row (their length doubles with each).
	SetUnauthorized(ctx context.Context, account string, until time.Time, strikes int, version string) error
	// ClearUnauthorized ends a 401 cooldown: the account served again.
	ClearUnauthorized(ctx context.Context, account string) error
}

// AccountState is what the pool knows about one account from the state table.
type AccountState struct {
	Account        string
	ReauthRequired bool // the login is gone; a person must log in again
	CooldownUntil  time.Time
	CooldownReason string         // one of quota.Cooldown*
	Quota          quota.Snapshot // zero when no usage snapshot exists
	// CooldownStrikes counts 401 cooldowns in a row (CooldownReason
	// unauthorized); while it is above zero a 401 spends no refresh.
	CooldownStrikes int
	// LoginVersion is the secret version the last import or login stored;
	// a change tells warm containers to drop the token they cached.
	LoginVersion string
	// Paused: an operator took the account out of rotation; it serves
	// nothing (it is still refreshed and polled by the scheduled functions).
	Paused bool
	// Priority orders accounts before Config.Strategy does: higher first.
	Priority int
}

// Config configures a Proxy. UpstreamURL, Tokens, Keys and Accounts are
// required; the rest have defaults.
type Config struct {
	// UpstreamURL is the Codex backend base (CODEXGATE_UPSTREAM_URL, e.g.
	// https://chatgpt.com/backend-api/codex). It comes from configuration
	// only; nothing in a request can change where the proxy connects.
	UpstreamURL string
	// Tokens hands out access tokens; it is the one refresh routine
	// (*codex.Refresher in production).
	Tokens codex.TokenSource
	// Keys verifies client API keys.
	Keys KeyVerifier
	// Accounts lists the pool's accounts.
	Accounts AccountLister
	// States holds account health, cooldowns and quota snapshots. Nil means
	// every listed account is healthy and cooldowns stay in memory.
	States StateStore
	// Usage stores the requests' final usage, summed per counter and
	// written when flushed (shared/metering). Nil records nothing.
	Usage metering.Recorder
	// Budgets reads the keys' use for their daily and weekly token budgets
	// (shared/metering). Nil enforces none. BudgetRefresh is how stale a
	// container's view of a key's use today may get. Default 10 s.
	Budgets       metering.BudgetSource
	BudgetRefresh time.Duration
	// BudgetEvents hears of each request refused for a budget (metrics).
	// Nil: none.
	BudgetEvents BudgetEvents
	// AvailabilityEvents hears of each request answered 503
	// no_available_account (metrics). Nil: none.
	AvailabilityEvents AvailabilityEvents

	// Transport sends upstream requests. Default: a clone of
	// http.DefaultTransport with a larger idle pool. It must not follow
	// redirects (a RoundTripper does not).
	Transport http.RoundTripper
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
	// Logger receives one line per request and every failover. Default
	// slog.Default(). Keys and tokens are never logged.
	Logger *slog.Logger

	// MaxBodyBytes caps a request body (after gzip decoding); a larger one
	// is refused with 413 naming the limit. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// KeyCacheTTL is how long a verified key is trusted without asking the
	// store again. Past it a known key is still served from the cache while
	// it is re-checked in the background (and a key in use is re-checked
	// every KeyCacheTTL anyway). Default 30 s.
	KeyCacheTTL time.Duration
	// KeyMaxStale is how old a key's last confirmation may be before a
	// request waits for a fresh one: the bound on how long a revoked key
	// keeps working in any container. Default 60 s; at least KeyCacheTTL.
	KeyMaxStale time.Duration
	// AccountsRefresh is how old the pool's account list and states may get
	// before a background reload. Default 60 s.
	AccountsRefresh time.Duration
	// AffinityTTL is how long an idle conversation stays pinned to its
	// account. Default 1 h. AffinitySize bounds the map. Default 10,000.
	AffinityTTL  time.Duration
	AffinitySize int
	// UnauthorizedCooldown is how long an account is first cooled down when
	// the upstream rejects a token a refresh has just minted (or any token
	// while the account is already cooling down for 401s); each further
	// such cooldown in a row doubles it, up to UnauthorizedCooldownMax. A
	// success, a newer stored token or a login ends the series. Defaults
	// 30 s and 15 min: an upstream incident keeps no account dark for long.
	UnauthorizedCooldown    time.Duration
	UnauthorizedCooldownMax time.Duration
	// HolderWait is how long a request waits for a refresh another holder
	// runs when another account could serve it; HolderWaitAlone when none
	// could (then the request answers 503 with Retry-After). Defaults 3 s
	// and 30 s: far below any client's or API Gateway's idle limit.
	HolderWait      time.Duration
	HolderWaitAlone time.Duration
	// RateLimitBackoff is the in-memory pause after a 429 rate_limit_exceeded
	// without a Retry-After. Default 10 s.
	RateLimitBackoff time.Duration

	// Strategy orders the usable accounts a request may go to (affinity
	// aside): StrategyHeadroom (""), StrategyFillFirst or
	// StrategySoonestReset. Account priority orders before it.
	Strategy string

	// ClaudeModels maps Claude model names on the Messages front to Codex
	// models and efforts (CODEXGATE_CLAUDE_MODELS). Zero value: the default
	// mapping by family.
	ClaudeModels messages.Models
	// ModelNames resolves aliases (CODEXGATE_MODEL_ALIASES) and effort
	// suffixes on every front, before ClaudeModels on Messages, and names
	// the extra entries of GET /v1/models. Nil: no alias; suffixes on the
	// builtin models, ClaudeModels' targets and the models the backend
	// lists.
	ModelNames *models.Resolver
}

// Defaults of Config.
const (
	// DefaultMaxBodyBytes is 6 MB (6 MiB), AWS Lambda's limit on a
	// synchronous invocation's request: the proxy function can never receive
	// more, so codexgate serve refuses the same and a long session with
	// screenshots fails alike locally and deployed.
	DefaultMaxBodyBytes            = 6 << 20
	DefaultKeyCacheTTL             = 30 * time.Second
	DefaultKeyMaxStale             = 60 * time.Second
	DefaultAccountsRefresh         = 60 * time.Second
	DefaultAffinityTTL             = time.Hour
	DefaultAffinitySize            = 10000
	DefaultUnauthorizedCooldown    = 30 * time.Second
	DefaultUnauthorizedCooldownMax = 15 * time.Minute
	DefaultHolderWait              = 3 * time.Second
	DefaultHolderWaitAlone         = 30 * time.Second
	DefaultRateLimitBackoff        = 10 * time.Second
	// usageLimitFallback cools an account whose usage-limit answer names
	// no reset time.
	usageLimitFallback = 30 * time.Minute
)

func (c *Config) validate() (*url.URL, error) {
	switch {
	case c.UpstreamURL == "":
		return nil, errors.New("proxy: UpstreamURL is required")
	case c.Tokens == nil:
		return nil, errors.New("proxy: Tokens is required")
	case c.Keys == nil:
		return nil, errors.New("proxy: Keys is required")
	case c.Accounts == nil:
		return nil, errors.New("proxy: Accounts is required")
	}
	if err := ValidStrategy(c.Strategy); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	u, err := url.Parse(c.UpstreamURL)
	if err != nil {
		return nil, fmt.Errorf("proxy: UpstreamURL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("proxy: UpstreamURL %q: want http(s)://host/path", c.UpstreamURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if c.ModelNames == nil {
		c.ModelNames, _ = models.ParseAliases("") // an empty spec cannot fail
		c.ModelNames.Known(c.ClaudeModels.Targets()...)
	}
	c.ClaudeModels = c.ClaudeModels.WithNames(c.ModelNames)
	if c.Transport == nil {
		c.Transport = NewTransport()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.KeyCacheTTL, DefaultKeyCacheTTL)
	setDefault(&c.KeyMaxStale, max(DefaultKeyMaxStale, c.KeyCacheTTL))
	c.KeyMaxStale = max(c.KeyMaxStale, c.KeyCacheTTL)
	setDefault(&c.AccountsRefresh, DefaultAccountsRefresh)
	setDefault(&c.AffinityTTL, DefaultAffinityTTL)
	setDefault(&c.AffinitySize, DefaultAffinitySize)
	setDefault(&c.UnauthorizedCooldown, DefaultUnauthorizedCooldown)
	setDefault(&c.UnauthorizedCooldownMax, max(DefaultUnauthorizedCooldownMax, c.UnauthorizedCooldown))
	setDefault(&c.HolderWait, DefaultHolderWait)
	setDefault(&c.HolderWaitAlone, DefaultHolderWaitAlone)
	setDefault(&c.RateLimitBackoff, DefaultRateLimitBackoff)
	setDefault(&c.BudgetRefresh, metering.DefaultBudgetRefresh)
	return u, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// NewTransport is the one transport to the Codex backend (the proxy's
// default, and app.App.HTTP's): http.DefaultTransport with an idle pool
// sized for one upstream host under concurrency (the default keeps only 2
// idle per host), warm connections kept between requests, and no overall
// timeout, since a streamed turn runs for minutes, only one on the headers.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute
	return t
}
