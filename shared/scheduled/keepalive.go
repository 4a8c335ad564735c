package scheduled

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/statestore"
)

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
	// StatusDeferred: due, but the run's remaining time no longer fits a
	// refresh (codex.ErrNoTime). The accounts that expire soonest go first,
	// so a deferred one expires later than every refreshed one, and the
	// next run starts with it.
	StatusDeferred = "deferred"
)

// KeepAlive renews access tokens before they expire.
type KeepAlive struct {
	Accounts    Accounts
	Stored      StoredTokens // optional: where expiries are read (else Accounts, if it can)
	Tokens      codex.TokenSource
	States      StateReader // optional: without it no account is skipped as reauth_required
	Window      time.Duration
	Metrics     *metrics.Writer
	Logger      *slog.Logger
	Concurrency int
	Now         func() time.Time
	// Reserve: no account is read to plan its refresh with less than this
	// left before the invocation's deadline (default DefaultRefreshReserve,
	// what the refresh routine needs to start a refresh at all).
	Reserve time.Duration
}

// DefaultRefreshReserve is the least time a refresh can start with: its
// OAuth call and its durable write, and the margins around them (the
// refresh routine refuses to start one with less: codex.ErrNoTime).
const DefaultRefreshReserve = codex.DefaultOAuthBudget + codex.DefaultPersistBudget + 6*time.Second

// RefreshResult is what one refresh run returns (and logs).
type RefreshResult struct {
	Accounts  []RefreshOutcome `json:"accounts"`
	Refreshed int              `json:"refreshed"`
	NotDue    int              `json:"not_due"`
	Reauth    int              `json:"reauth_required"` // found dead now, or skipped as marked
	NotFound  int              `json:"not_found"`
	Deferred  int              `json:"deferred"`
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
	var (
		names  = []string{req.Account}
		states map[string]statestore.AccountState
		err    error
	)
	if req.Account == "" {
		var snap statestore.Snapshot
		var loadErr error
		if names, snap, loadErr, err = listAccounts(ctx, k.Accounts, k.States); err != nil {
			return RefreshResult{}, fmt.Errorf("list accounts: %w", err)
		}
		if loadErr != nil {
			log.Warn("load account states", "err", loadErr)
		}
		states = snap.States
	} else if states, err = loadStates(ctx, k.States); err != nil {
		log.Warn("load account states", "err", err)
	}
	res := RefreshResult{Accounts: k.run(ctx, names, req.Force, states)}
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
		case StatusDeferred:
			res.Deferred++
		default:
			res.Failed++
		}
	}
	k.emit(res)
	log.Info("keep-alive run", "accounts", len(names), "refreshed", res.Refreshed, "not_due", res.NotDue,
		"reauth_required", res.Reauth, "not_found", res.NotFound, "deferred", res.Deferred, "failed", res.Failed, "result", res)
	return res, nil
}

// StoredTokens reads an account's stored token without refreshing it;
// secretstore.Store implements it. When Stored is set (or Accounts
// implements it), the
// keep-alive decides what is due from the store, so that a token already
// inside the refresh routine's own skew is reported (and counted) as
// refreshed rather than silently renewed by the first look.
type StoredTokens interface {
	LoadCurrent(ctx context.Context, account string) (codex.Version, error)
}

// run decides, then refreshes. First every account is read (bounded
// parallelism, reads only) to learn what is due; then the due accounts are
// refreshed, at most Concurrency at a time, the soonest to expire first, so
// that when the invocation's remaining time runs short (each refresh must
// fit its OAuth call and durable write before the deadline) the accounts
// left over are the ones that can best wait for the next run. Outcomes come
// back in names' order.
func (k *KeepAlive) run(ctx context.Context, names []string, force bool, states map[string]statestore.AccountState) []RefreshOutcome {
	reserve := k.Reserve
	if reserve <= 0 {
		reserve = DefaultRefreshReserve
	}
	plans := forEach(ctx, names, k.Concurrency, func(ctx context.Context, name string) plan {
		if left, bounded := deadlineLeft(ctx); bounded && left < reserve {
			// Not even read: no refresh could start now anyway.
			return plan{out: RefreshOutcome{Account: name, Status: StatusDeferred, Error: deferredHint}}
		}
		return k.plan(ctx, name, force, states[name])
	})
	var due []int
	for i, p := range plans {
		if p.due {
			due = append(due, i)
		}
	}
	// Soonest expiry first; forced runs (no expiry read) keep names' order.
	slices.SortStableFunc(due, func(a, b int) int { return plans[a].out.ExpiresAt.Compare(plans[b].out.ExpiresAt) })
	order := make([]string, len(due))
	for j, i := range due {
		order[j] = names[i]
	}
	var outOfTime atomic.Bool
	refreshed := forEach(ctx, order, k.Concurrency, func(ctx context.Context, name string) RefreshOutcome {
		if outOfTime.Load() {
			return RefreshOutcome{Account: name, Status: StatusDeferred, Error: deferredHint}
		}
		o := k.refresh(ctx, name, states[name])
		if o.Status == StatusDeferred {
			outOfTime.Store(true) // every later start would be refused too
		}
		return o
	})
	out := make([]RefreshOutcome, len(plans))
	for i, p := range plans {
		out[i] = p.out
	}
	for j, i := range due {
		out[i] = refreshed[j]
	}
	return out
}

// deferredHint is the outcome message of an account deferred to the next run.
const deferredHint = "due, but too little of this run's time is left for a safe refresh; the next run takes it first"

// plan is one account's decision before any refresh: settled (out), or due.
type plan struct {
	out RefreshOutcome
	due bool
}

// plan decides whether one account is due: skipped (marked
// reauth_required, not forced), not due (its token outlives the window),
// an error reading it, or due (ExpiresAt is its current expiry; zero when
// forced, which reads nothing).
func (k *KeepAlive) plan(ctx context.Context, name string, force bool, st statestore.AccountState) plan {
	out := RefreshOutcome{Account: name}
	if reauthRequired(st) && !force {
		out.Status, out.Error = StatusSkipped, reauthHint+"; force to try anyway"
		return plan{out: out}
	}
	if force {
		return plan{out: out, due: true}
	}
	window := k.Window
	if window <= 0 {
		window = config.Defaults.RefreshWindow
	}
	expires, err := k.expiry(ctx, name)
	if err != nil {
		out.Status, out.Error = classify(err)
		return plan{out: out}
	}
	out.ExpiresAt = expires
	if expires.After(clock(k.Now)().Add(window)) {
		out.Status = StatusNotDue
		return plan{out: out}
	}
	return plan{out: out, due: true}
}

// refresh renews one due (or forced) account's token. The forced call runs
// the lease protocol, which adopts a token a concurrent run or the proxy
// produced instead of refreshing twice.
func (k *KeepAlive) refresh(ctx context.Context, name string, st statestore.AccountState) RefreshOutcome {
	out := RefreshOutcome{Account: name}
	fresh, err := k.Tokens.AccessToken(ctx, name, codex.AccessOptions{Force: true})
	if errors.Is(err, codex.ErrNoTime) {
		out.Status, out.Error = StatusDeferred, deferredHint
		return out
	}
	if err != nil {
		out.Status, out.Error = classify(err)
		return out
	}
	out.Status, out.ExpiresAt = StatusRefreshed, fresh.ExpiresAt
	if c, ok := k.States.(ReauthClearer); ok && reauthRequired(st) {
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
	st, ok := k.Stored, k.Stored != nil
	if !ok {
		st, ok = k.Accounts.(StoredTokens)
	}
	if ok {
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
		// A deferred account was due and not refreshed: a failure of the
		// keep-alive as much as an error is (too many accounts for a run).
		metrics.Metric{Name: metrics.RefreshFailures, Unit: metrics.Count, Value: float64(res.Failed + res.Deferred)},
		metrics.Metric{Name: metrics.ReauthRequired, Unit: metrics.Count, Value: float64(res.Reauth)},
	); err != nil {
		logger(k.Logger).Warn("emit metrics", "err", err)
	}
}
