package scheduled

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/statestore"
)

// DefaultRefreshWindow is how far ahead of expiry the keep-alive renews an
// access token (env CODEXGATE_REFRESH_WINDOW). It must exceed the schedule's
// period, so that every token is renewed by a scheduled run well before the
// proxy would have to refresh it in its hot path.
const DefaultRefreshWindow = 2 * time.Hour

// RefreshWindowFromEnv reads CODEXGATE_REFRESH_WINDOW (a Go duration such as
// "2h" or "90m"); unset or empty means DefaultRefreshWindow.
func RefreshWindowFromEnv() (time.Duration, error) {
	v := os.Getenv("CODEXGATE_REFRESH_WINDOW")
	if v == "" {
		return DefaultRefreshWindow, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("CODEXGATE_REFRESH_WINDOW=%q: want a positive duration such as 2h", v)
	}
	return d, nil
}

// RefreshRequest is the refresh function's event: {"account":"NAME","force":false}.
// An empty Account means every account; Force refreshes whatever the expiry
// and even an account marked reauth_required (the refresh routine still
// refuses a login it knows is dead).
type RefreshRequest struct {
	Account string `json:"account,omitempty"`
	Force   bool   `json:"force,omitempty"`
}

// UnmarshalJSON reads a manual payload, and maps a scheduled EventBridge
// event (a schedule without an Input) to the empty request: that event's
// "account" field is the AWS account id, not an account name.
func (r *RefreshRequest) UnmarshalJSON(b []byte) error {
	var raw struct {
		Account    string  `json:"account"`
		Force      bool    `json:"force"`
		DetailType *string `json:"detail-type"`
		Source     *string `json:"source"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("refresh request: want {\"account\":\"NAME\",\"force\":false}: %w", err)
	}
	if raw.DetailType != nil || raw.Source != nil {
		*r = RefreshRequest{}
		return nil
	}
	*r = RefreshRequest{Account: raw.Account, Force: raw.Force}
	return nil
}

// Refresh outcome statuses (besides the shared ones).
const (
	StatusRefreshed = "refreshed" // a new access token is stored (ours or a concurrent caller's)
	StatusNotDue    = "not_due"   // the token outlives the window
	StatusSkipped   = "skipped"   // not attempted: marked reauth_required, not forced
)

// KeepAlive renews access tokens before they expire.
type KeepAlive struct {
	Accounts    Accounts
	Tokens      codex.TokenSource
	States      StateReader // optional: without it no account is skipped as reauth_required
	Window      time.Duration
	Metrics     *metrics.Writer
	Logger      *slog.Logger
	Concurrency int
	Now         func() time.Time
}

// RefreshResult is what one refresh run returns (and logs).
type RefreshResult struct {
	Accounts  []RefreshOutcome `json:"accounts"`
	Refreshed int              `json:"refreshed"`
	NotDue    int              `json:"not_due"`
	Reauth    int              `json:"reauth_required"` // found dead now, or skipped as marked
	NotFound  int              `json:"not_found"`
	Failed    int              `json:"failed"`
}

// RefreshOutcome is one account's result.
type RefreshOutcome struct {
	Account   string    `json:"account"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // the access token's expiry after the run
	Error     string    `json:"error,omitempty"`
}

// Handle runs one keep-alive pass. It fails only when the accounts cannot be
// listed; an unknown named account is a not_found outcome.
func (k *KeepAlive) Handle(ctx context.Context, req RefreshRequest) (RefreshResult, error) {
	log := logger(k.Logger).With("account", req.Account, "force", req.Force)
	names := []string{req.Account}
	if req.Account == "" {
		var err error
		if names, err = k.Accounts.List(ctx); err != nil {
			return RefreshResult{}, fmt.Errorf("list accounts: %w", err)
		}
	}
	states, err := loadStates(ctx, k.States)
	if err != nil {
		log.Warn("load account states", "err", err)
	}
	res := RefreshResult{Accounts: forEach(ctx, names, k.Concurrency, func(ctx context.Context, name string) RefreshOutcome {
		return k.account(ctx, name, req.Force, states[name])
	})}
	for _, o := range res.Accounts {
		switch o.Status {
		case StatusRefreshed:
			res.Refreshed++
		case StatusNotDue:
			res.NotDue++
		case StatusReauthRequired, StatusSkipped:
			res.Reauth++
		case StatusNotFound:
			res.NotFound++
		default:
			res.Failed++
		}
	}
	k.emit(res)
	log.Info("keep-alive run", "accounts", len(names), "refreshed", res.Refreshed, "not_due", res.NotDue,
		"reauth_required", res.Reauth, "not_found", res.NotFound, "failed", res.Failed, "result", res)
	return res, nil
}

// StoredTokens reads an account's stored token without refreshing it;
// secretstore.Store implements it. When Accounts implements it too, the
// keep-alive decides what is due from the store, so that a token already
// inside the refresh routine's own skew is reported (and counted) as
// refreshed rather than silently renewed by the first look.
type StoredTokens interface {
	LoadCurrent(ctx context.Context, account string) (codex.Version, error)
}

// account renews one account's token when it is due or forced. The forced
// call runs the lease protocol, which adopts a token a concurrent run or the
// proxy produced instead of refreshing twice.
func (k *KeepAlive) account(ctx context.Context, name string, force bool, st statestore.AccountState) RefreshOutcome {
	out := RefreshOutcome{Account: name}
	marked := reauthRequired(st)
	if marked && !force {
		out.Status, out.Error = StatusSkipped, reauthHint+"; force to try anyway"
		return out
	}
	window := k.Window
	if window <= 0 {
		window = DefaultRefreshWindow
	}
	if !force {
		expires, err := k.expiry(ctx, name)
		if err != nil {
			out.Status, out.Error = classify(err)
			return out
		}
		if expires.After(clock(k.Now)().Add(window)) {
			out.Status, out.ExpiresAt = StatusNotDue, expires
			return out
		}
	}
	fresh, err := k.Tokens.AccessToken(ctx, name, codex.AccessOptions{Force: true})
	if err != nil {
		out.Status, out.Error = classify(err)
		return out
	}
	out.Status, out.ExpiresAt = StatusRefreshed, fresh.ExpiresAt
	if c, ok := k.States.(ReauthClearer); ok && marked {
		// The login works again (a new one was imported, or the mark was stale).
		if err := c.ClearReauth(ctx, name); err != nil {
			logger(k.Logger).Warn("clear reauth_required", "account", name, "err", err)
		}
	}
	return out
}

// expiry is when the account's access token expires: read from the store
// when Accounts can, else learned through the refresh routine (which renews
// a token inside its own skew on the way).
func (k *KeepAlive) expiry(ctx context.Context, name string) (time.Time, error) {
	if st, ok := k.Accounts.(StoredTokens); ok {
		v, err := st.LoadCurrent(ctx, name)
		if err != nil {
			return time.Time{}, err
		}
		return v.Auth.Token.ExpiresAt, nil
	}
	creds, err := k.Tokens.AccessToken(ctx, name, codex.AccessOptions{})
	return creds.ExpiresAt, err
}

// emit writes the run's batch counters, zeros included.
func (k *KeepAlive) emit(res RefreshResult) {
	if err := k.Metrics.Emit(nil,
		metrics.Metric{Name: metrics.Refreshes, Unit: metrics.Count, Value: float64(res.Refreshed)},
		metrics.Metric{Name: metrics.RefreshFailures, Unit: metrics.Count, Value: float64(res.Failed)},
		metrics.Metric{Name: metrics.ReauthRequired, Unit: metrics.Count, Value: float64(res.Reauth)},
	); err != nil {
		logger(k.Logger).Warn("emit metrics", "err", err)
	}
}
