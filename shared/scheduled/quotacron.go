package scheduled

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/usage"
)

// DefaultLimitCooldown is how long an exhausted account is cooled down when
// the usage answer gives no future reset time: until a later run looks again.
const DefaultLimitCooldown = 15 * time.Minute

// DefaultQuotaReserve is the time a poll needs at most (the usage call's
// 20 s timeout, a refresh of a refused token inside it, the snapshot write):
// a run starts no poll with less than this left before its deadline, so it
// ends before Lambda would kill it.
const DefaultQuotaReserve = 25 * time.Second

// Quota outcome statuses (besides the shared ones).
const (
	StatusOK      = "ok"      // snapshot stored, quota left
	StatusLimited = "limited" // snapshot stored, account cooled down until its reset
)

// QuotaCron snapshots every account's usage.
type QuotaCron struct {
	Accounts Accounts
	Tokens   codex.TokenSource
	Usage    *usage.Client
	States   QuotaStates
	Metrics  *metrics.Writer // nil: no metrics
	// PerAccountMetrics adds UsedPercent per account and window and
	// LimitReached per account (CODEXGATE_DETAILED_METRICS): three custom
	// metrics per account, about $0.90 a month each account. Without it a
	// run emits AccountsLimited and its batch counters only.
	PerAccountMetrics bool
	Logger            *slog.Logger
	Concurrency       int              // default DefaultConcurrency
	Now               func() time.Time // default time.Now
	// Reserve: no poll starts with less than this left before the
	// invocation's deadline (default DefaultQuotaReserve); a poll in flight
	// is cut a tenth of it before the deadline.
	Reserve time.Duration
}

// QuotaResult is what one quota-cron run returns (and logs).
type QuotaResult struct {
	Accounts []QuotaOutcome `json:"accounts"`
	OK       int            `json:"ok"`
	Limited  int            `json:"limited"`
	Reauth   int            `json:"reauth_required"`
	Failed   int            `json:"failed"`
	// Deferred counts the accounts this run had no time left for; their
	// snapshots are the oldest, so the next run polls them first.
	Deferred int `json:"deferred"`
}

// QuotaOutcome is one account's result.
type QuotaOutcome struct {
	Account         string         `json:"account"`
	Status          string         `json:"status"`
	Plan            string         `json:"plan,omitempty"`
	Windows         []quota.Window `json:"windows,omitempty"`
	CooldownUntil   time.Time      `json:"cooldown_until,omitzero"`
	CooldownCleared bool           `json:"cooldown_cleared,omitempty"`
	Refreshed       bool           `json:"refreshed,omitempty"` // the first token was refused; a forced refresh ran
	Error           string         `json:"error,omitempty"`
}

// Handle runs once per scheduled event. It fails only when the accounts
// cannot be listed.
//
// Accounts are polled stalest first (the oldest snapshot, and an account
// never polled, first), Concurrency at a time, and no poll starts with less
// than Reserve left before the invocation's deadline: a run that cannot
// poll every account ends in time, reports the rest as deferred, and the
// next run, finding their snapshots the oldest, starts with them. No
// account is skipped run after run.
func (q *QuotaCron) Handle(ctx context.Context, ev events.EventBridgeEvent) (QuotaResult, error) {
	log := logger(q.Logger).With("event_id", ev.ID)
	var states StateReader
	if q.States != nil {
		states = q.States
	}
	names, snap, loadErr, err := listAccounts(ctx, q.Accounts, states)
	if err != nil {
		return QuotaResult{}, fmt.Errorf("list accounts: %w", err)
	}
	if loadErr != nil {
		// Without states every account is tried; the refresh routine still
		// refuses dead logins, and no cooldown is lifted blindly.
		log.Warn("load account states", "err", loadErr)
	}
	order := stalestFirst(names, snap.Quotas)
	reserve := q.Reserve
	if reserve <= 0 {
		reserve = DefaultQuotaReserve
	}
	polled := forEach(ctx, order, q.Concurrency, func(ctx context.Context, name string) QuotaOutcome {
		left, bounded := deadlineLeft(ctx)
		if bounded && left < reserve {
			return QuotaOutcome{Account: name, Status: StatusDeferred, Error: quotaDeferredHint}
		}
		if bounded {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, left-reserve/10)
			defer cancel()
		}
		return q.account(ctx, name, snap.States[name])
	})
	byName := make(map[string]QuotaOutcome, len(polled))
	for _, o := range polled {
		byName[o.Account] = o
	}
	res := QuotaResult{Accounts: make([]QuotaOutcome, 0, len(names))}
	for _, name := range names {
		res.Accounts = append(res.Accounts, byName[name])
	}
	for _, o := range res.Accounts {
		switch o.Status {
		case StatusOK:
			res.OK++
		case StatusLimited:
			res.Limited++
		case StatusReauthRequired:
			res.Reauth++
		case StatusDeferred:
			res.Deferred++
		default:
			res.Failed++
		}
	}
	q.emit(res)
	log.Info("quota snapshot run", "accounts", len(names), "ok", res.OK, "limited", res.Limited,
		"reauth_required", res.Reauth, "failed", res.Failed, "deferred", res.Deferred, "result", res)
	return res, nil
}

// quotaDeferredHint is the outcome message of an account left to the next run.
const quotaDeferredHint = "not polled: too little of this run's time was left; its snapshot is the oldest, so the next run polls it first"

// stalestFirst orders names by their snapshot's age, oldest first (never
// polled first of all), then by name. Duplicates are dropped.
func stalestFirst(names []string, quotas map[string]statestore.QuotaSnapshot) []string {
	order := slices.Clone(names)
	slices.Sort(order)
	order = slices.Compact(order)
	slices.SortStableFunc(order, func(a, b string) int {
		return quotas[a].FetchedAt.Compare(quotas[b].FetchedAt)
	})
	return order
}

// account fetches, stores and acts on one account's usage.
func (q *QuotaCron) account(ctx context.Context, name string, st statestore.AccountState) QuotaOutcome {
	out := QuotaOutcome{Account: name}
	if reauthRequired(st) {
		out.Status, out.Error = StatusReauthRequired, reauthHint
		return out
	}
	snap, refreshed, err := q.Usage.ForAccount(ctx, q.Tokens, name)
	out.Refreshed = refreshed
	if err != nil {
		return failed(out, err)
	}
	out.Plan, out.Windows = snap.Plan, snap.Windows
	if err := q.States.PutQuota(ctx, statestore.QuotaSnapshot{Account: name, Snapshot: snap}); err != nil {
		return failed(out, fmt.Errorf("store quota snapshot: %w", err))
	}
	now := clock(q.Now)()
	limited, until := snap.Exhausted()
	switch {
	case limited:
		if !until.After(now) {
			until = now.Add(DefaultLimitCooldown)
		}
		if err := q.States.SetCooldown(ctx, name, until, quota.CooldownUsageLimit); err != nil {
			return failed(out, fmt.Errorf("set cooldown: %w", err))
		}
		out.Status, out.CooldownUntil = StatusLimited, until
	case st.CooldownReason == quota.CooldownUsageLimit && st.CooldownUntil.After(now):
		if err := q.States.ClearCooldown(ctx, name); err != nil {
			return failed(out, fmt.Errorf("clear cooldown: %w", err))
		}
		out.Status, out.CooldownCleared = StatusOK, true
	default:
		out.Status = StatusOK
	}
	return out
}

func failed(o QuotaOutcome, err error) QuotaOutcome {
	o.Status, o.Error = classify(err)
	return o
}

// emit writes the run's metrics: the batch counters (zeros included, so
// alarms always see data) and, with PerAccountMetrics, used % per account
// and window and LimitReached per account.
func (q *QuotaCron) emit(res QuotaResult) {
	log := logger(q.Logger)
	refreshes, limitedAccounts := 0, 0
	for _, o := range res.Accounts {
		if o.Refreshed {
			refreshes++
		}
		if o.Status == StatusLimited {
			limitedAccounts++
		}
		if !q.PerAccountMetrics || (o.Status != StatusOK && o.Status != StatusLimited) {
			continue
		}
		for _, w := range o.Windows {
			if err := q.Metrics.Emit([]metrics.Dimension{{Name: metrics.DimAccount, Value: o.Account}, {Name: metrics.DimWindow, Value: w.Kind}},
				metrics.Metric{Name: metrics.UsedPercent, Unit: metrics.Percent, Value: w.UsedPercent}); err != nil {
				log.Warn("emit metrics", "err", err)
			}
		}
		limited := 0.0
		if o.Status == StatusLimited {
			limited = 1
		}
		if err := q.Metrics.Emit([]metrics.Dimension{{Name: metrics.DimAccount, Value: o.Account}},
			metrics.Metric{Name: metrics.LimitReached, Unit: metrics.Count, Value: limited}); err != nil {
			log.Warn("emit metrics", "err", err)
		}
	}
	if err := q.Metrics.Emit(nil,
		metrics.Metric{Name: metrics.QuotaFailures, Unit: metrics.Count, Value: float64(res.Failed)},
		metrics.Metric{Name: metrics.ReauthRequired, Unit: metrics.Count, Value: float64(res.Reauth)},
		metrics.Metric{Name: metrics.Refreshes, Unit: metrics.Count, Value: float64(refreshes)},
		metrics.Metric{Name: metrics.AccountsLimited, Unit: metrics.Count, Value: float64(limitedAccounts)},
	); err != nil {
		log.Warn("emit metrics", "err", err)
	}
}
