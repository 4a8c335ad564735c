package console

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// Status is what GET /v1/admin/status answers: the deployment at a glance.
// Nothing in it is a token, a key or a secret: account and key names,
// times, counts and percentages only.
type Status struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Deployment  Deployment         `json:"deployment"`
	Accounts    []Account          `json:"accounts"`
	Keys        []KeyUsage         `json:"keys"`
	Days        []string           `json:"days"` // the 7 UTC days of KeyUsage.Days, oldest first
	Events      []statestore.Event `json:"events"`
	// Problems lists the parts that could not be read; the rest is shown.
	Problems []string `json:"problems,omitempty"`
}

// Deployment describes the process answering.
type Deployment struct {
	Version  string `json:"version"`
	Runtime  string `json:"runtime"` // "lambda" or "serve"
	Region   string `json:"region,omitempty"`
	MemoryMB string `json:"memory_mb,omitempty"` // Lambda's memory size; empty under serve
	// AccountsLoadedAt is when this process last loaded the account list
	// (its age is how stale the proxy's view may be); nil: not yet.
	AccountsLoadedAt *time.Time `json:"accounts_loaded_at,omitempty"`
}

// Account statuses (accountStatus).
const (
	StatusOK             = "ok"
	StatusCoolingDown    = "cooling_down"
	StatusPaused         = "paused"
	StatusReauthRequired = "reauth_required"
	StatusUnreadable     = "unreadable"
)

// Account is one account's row.
type Account struct {
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason,omitempty"`
	Until          *time.Time `json:"until,omitempty"` // end of a cooldown
	Plan           string     `json:"plan,omitempty"`
	FiveHour       *Window    `json:"five_hour,omitempty"`
	Weekly         *Window    `json:"weekly,omitempty"`
	QuotaFetchedAt *time.Time `json:"quota_fetched_at,omitempty"`
	LastRefresh    *time.Time `json:"last_refresh,omitempty"`
	TokenExpiresAt *time.Time `json:"access_token_expires_at,omitempty"`
	// RefreshesLeft of RefreshBurst: the account's refresh budget now; nil
	// when its lease item could not be read.
	RefreshesLeft *int `json:"refreshes_left,omitempty"`
	RefreshBurst  int  `json:"refresh_burst"`
	// Priority orders the account before the routing strategy does
	// (`codexgate accounts priority`); higher first.
	Priority int `json:"priority"`
}

// Window is one quota window.
type Window struct {
	UsedPercent   float64    `json:"used_percent"`
	WindowSeconds int64      `json:"window_seconds,omitempty"`
	ResetAt       *time.Time `json:"reset_at,omitempty"`
}

// KeyUsage is one client key's usage and budgets.
type KeyUsage struct {
	Name    string `json:"name"`
	Revoked bool   `json:"revoked,omitempty"`
	// Days has one entry per Status.Days, oldest first.
	Days  []DayUsage `json:"days"`
	Today DayUsage   `json:"today"`
	Week  DayUsage   `json:"week"` // the 7 days together
	// Budgets of input + output tokens (0: none) and what counts against
	// them: today (UTC) and this ISO week (since Monday 00:00 UTC).
	DailyBudget  int64 `json:"daily_budget"`
	WeeklyBudget int64 `json:"weekly_budget"`
	DailyUsed    int64 `json:"daily_used"`
	WeeklyUsed   int64 `json:"weekly_used"`
}

// DayUsage is requests and tokens (input + output) of a period.
type DayUsage struct {
	Day      string `json:"day,omitempty"`
	Requests int64  `json:"requests"`
	Tokens   int64  `json:"tokens"`
}

// Store is the statestore reads the status makes.
type Store interface {
	Load(ctx context.Context) (statestore.Snapshot, error)
	ListKeys(ctx context.Context) ([]statestore.APIKey, error)
	Usage(ctx context.Context, from, to time.Time) ([]statestore.UsageRow, error)
	RecentEvents(ctx context.Context, n int) ([]statestore.Event, error)
}

// AccountLister lists the registered accounts from a snapshot
// (statestore.Registry).
type AccountLister interface {
	Accounts(ctx context.Context, snap statestore.Snapshot) []string
}

// LoginReader reads an account's stored login (secretstore.Store); only
// times and the plan are taken from it.
type LoginReader interface {
	LoadCurrent(ctx context.Context, account string) (codex.Version, error)
}

// BudgetReader reads an account's refresh budget from its lease item
// (dynamolease.Leaser).
type BudgetReader interface {
	Budget(ctx context.Context, leaseKey string) (codex.RefreshBudget, error)
}

// Source gathers a Status. Only an admin's request reads it: nothing here
// runs on a client's request.
type Source struct {
	Store      Store
	Accounts   AccountLister
	Logins     LoginReader
	Budgets    BudgetReader
	Rate       codex.RefreshRate // default codex.DefaultRefreshRate
	Deployment Deployment
	// LoadedAt is the proxy's Proxy.AccountsLoadedAt; nil: not shown.
	LoadedAt func() time.Time
	Now      func() time.Time // default time.Now
	// Events is how many of the newest refresh events are shown (default 20).
	Events int
}

// readers bounds the per-account reads that run at once.
const readers = 8

// Status reads everything the page shows. A part that cannot be read is
// named in Problems and left empty; only a failed account load fails it.
func (s *Source) Status(ctx context.Context) (Status, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().UTC()
	st := Status{GeneratedAt: t, Deployment: s.Deployment, Accounts: []Account{}, Keys: []KeyUsage{}, Events: []statestore.Event{}}
	if s.LoadedAt != nil {
		if at := s.LoadedAt(); !at.IsZero() {
			at = at.UTC()
			st.Deployment.AccountsLoadedAt = &at
		}
	}
	snap, err := s.Store.Load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		problems []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	names := s.Accounts.Accounts(ctx, snap)
	st.Accounts = make([]Account, len(names))
	slots := make(chan struct{}, readers)
	for i, name := range names {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			st.Accounts[i] = s.account(ctx, name, snap, t, problem)
		})
	}
	wg.Go(func() {
		keys, err := s.keyUsage(ctx, t)
		if err != nil {
			problem("usage per key: %v", err)
			return
		}
		st.Keys = keys
	})
	wg.Go(func() {
		n := s.Events
		if n <= 0 {
			n = 20
		}
		ev, err := s.Store.RecentEvents(ctx, n)
		if err != nil {
			problem("refresh events: %v", err)
			return
		}
		st.Events = ev
	})
	wg.Wait()
	for i := 6; i >= 0; i-- {
		st.Days = append(st.Days, statestore.UsageDay(t.AddDate(0, 0, -i)))
	}
	sort.Strings(problems)
	st.Problems = problems
	return st, nil
}

// account reads one account's row: state and quota from snap, times and
// plan from its login, the refresh budget from its lease item.
func (s *Source) account(ctx context.Context, name string, snap statestore.Snapshot, now time.Time, problem func(string, ...any)) Account {
	rate := s.Rate
	if rate.Burst == 0 {
		rate = codex.DefaultRefreshRate
	}
	a := Account{Name: name, RefreshBurst: rate.Burst}
	state, hasState := snap.States[name]
	v, loginErr := s.Logins.LoadCurrent(ctx, name)
	switch {
	case loginErr == nil && v.Auth != nil:
		a.Plan = v.Auth.Claims().PlanType
		a.LastRefresh = timePtr(v.Auth.LastRefresh)
		a.TokenExpiresAt = timePtr(v.Auth.Token.ExpiresAt)
		if s.Budgets != nil {
			if b, err := s.Budgets.Budget(ctx, codex.LeaseKey(name, v.Auth)); err == nil {
				left := rate.Left(b, now)
				a.RefreshesLeft = &left
			} else {
				problem("refresh budget of %s: %v", name, err)
			}
		}
	case errors.Is(loginErr, codex.ErrInvalidAuthFile), errors.Is(loginErr, codex.ErrAccountNotFound):
	default:
		problem("login of %s: %v", name, loginErr)
		loginErr = nil // unknown, not unreadable
	}
	set := snap.Settings[name]
	a.Priority = set.Priority
	a.Status, a.Reason, a.Until = accountStatus(state, hasState, set, loginErr, now)
	if q, ok := snap.Quotas[name]; ok {
		if q.Plan != "" {
			a.Plan = q.Plan
		}
		a.QuotaFetchedAt = timePtr(q.FetchedAt)
		for _, w := range q.Windows {
			cell := &Window{UsedPercent: w.UsedPercent, WindowSeconds: w.WindowSeconds, ResetAt: timePtr(w.ResetAt)}
			switch w.Kind {
			case quota.Kind5h:
				a.FiveHour = cell
			case quota.KindWeekly:
				a.Weekly = cell
			}
		}
	}
	return a
}

// accountStatus is the one place an account's status is decided, most
// urgent first: a dead login needs a person, an unreadable secret a new
// import, a paused account an operator's resume (it serves nothing, cooling
// or not), a cooldown only time. loginErr is the error reading the login
// (ErrInvalidAuthFile or ErrAccountNotFound), nil when it was read.
func accountStatus(st statestore.AccountState, hasState bool, set statestore.AccountSettings, loginErr error, now time.Time) (status, reason string, until *time.Time) {
	switch {
	case hasState && st.Status == statestore.StatusReauthRequired:
		return StatusReauthRequired, st.Reason, nil
	case loginErr != nil:
		return StatusUnreadable, loginErr.Error(), nil
	case set.Paused:
		return StatusPaused, "", nil
	case hasState && st.CooldownUntil.After(now):
		return StatusCoolingDown, st.CooldownReason, timePtr(st.CooldownUntil)
	}
	return StatusOK, "", nil
}

// keyUsage sums the last 7 days (UTC, today included) per client key.
// Admin keys make no requests and are left out; revoked keys are shown
// only when they were used in those days.
func (s *Source) keyUsage(ctx context.Context, now time.Time) ([]KeyUsage, error) {
	keys, err := s.Store.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.Usage(ctx, now.AddDate(0, 0, -6), now)
	if err != nil {
		return nil, err
	}
	today := statestore.UsageDay(now)
	weekStart := statestore.UsageDay(isoWeekStart(now))
	var days []string
	for i := 6; i >= 0; i-- {
		days = append(days, statestore.UsageDay(now.AddDate(0, 0, -i)))
	}
	byKey := map[string]*KeyUsage{}
	var order []string
	add := func(name string, revoked bool) *KeyUsage {
		if k := byKey[name]; k != nil {
			k.Revoked = k.Revoked && revoked
			return k
		}
		k := &KeyUsage{Name: name, Revoked: revoked, Today: DayUsage{Day: today}}
		for _, d := range days {
			k.Days = append(k.Days, DayUsage{Day: d})
		}
		byKey[name] = k
		order = append(order, name)
		return k
	}
	used := map[string]bool{}
	for _, r := range rows {
		used[r.Key] = true
	}
	for _, k := range keys {
		if k.Admin || (k.Revoked && !used[k.Name]) {
			continue
		}
		ku := add(k.Name, k.Revoked)
		if !k.Revoked {
			ku.DailyBudget, ku.WeeklyBudget = k.DailyTokens, k.WeeklyTokens
		}
	}
	for _, r := range rows {
		k := add(r.Key, true)
		tokens := r.InputTokens + r.OutputTokens
		for i := range k.Days {
			if k.Days[i].Day == r.Day {
				k.Days[i].Requests += r.Requests
				k.Days[i].Tokens += tokens
			}
		}
		k.Week.Requests += r.Requests
		k.Week.Tokens += tokens
		if r.Day == today {
			k.Today.Requests += r.Requests
			k.Today.Tokens += tokens
			k.DailyUsed += tokens
		}
		if r.Day >= weekStart {
			k.WeeklyUsed += tokens
		}
	}
	out := make([]KeyUsage, 0, len(order))
	for _, n := range order {
		out = append(out, *byKey[n])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// isoWeekStart is Monday 00:00 UTC of t's ISO week, where weekly budgets
// start.
func isoWeekStart(t time.Time) time.Time {
	t = t.UTC()
	back := (int(t.Weekday()) + 6) % 7
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -back)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
