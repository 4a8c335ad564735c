package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// KeyBudgetVerifier is a KeyVerifier that also returns the key's daily
// budget of input + output tokens (0: none). The budget is cached with the
// key (Config.KeyCacheTTL), so a key without one costs nothing more.
type KeyBudgetVerifier interface {
	VerifyKeyBudget(ctx context.Context, key string) (name string, dailyTokens int64, err error)
}

// BudgetSource tells the proxy what a key with a budget used today, across
// every container (awsstores.Budgets sums the table's usage counters).
type BudgetSource interface {
	UsedToday(ctx context.Context, name string, now time.Time) (int64, error)
}

// DefaultBudgetRefresh is how old a container's view of a key's budget and
// use may get before it is read again (in the background).
const DefaultBudgetRefresh = 10 * time.Second

// budgets enforces daily token budgets from a per-container cache, so the
// check before the first byte makes no AWS call: a stale or missing entry is
// reloaded in the background and the request goes on meanwhile. What this
// container served since the last read is added locally at once.
//
// Overshoot: a key can exceed its budget by the tokens of the requests
// admitted while the counters this container sees are below it: requests in
// flight when the budget was crossed (their usage is known only at their
// end), and what other containers served in the last refresh period plus
// one table read (their writes are seen at the next reload). The first
// request of a key in a fresh container is admitted before the first load.
type budgets struct {
	src     BudgetSource
	refresh time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu sync.Mutex
	m  map[string]*budgetEntry
}

type budgetEntry struct {
	day     string // UTC day the counters are of
	known   bool   // loaded at least once for day
	limit   int64  // from the key cache
	used    int64  // from the table at the last load
	local   int64  // served by this container since that load
	readAt  time.Time
	loading bool
}

func newBudgets(src BudgetSource, refresh time.Duration, now func() time.Time, log *slog.Logger) *budgets {
	if src == nil {
		return nil
	}
	return &budgets{src: src, refresh: refresh, now: now, log: log, m: map[string]*budgetEntry{}}
}

// check refuses a key whose known use reached limit, its daily budget; it
// never waits for the store. A key without a budget costs no store call.
func (b *budgets) check(name string, limit int64) error {
	if b == nil || limit <= 0 {
		return nil
	}
	now := b.now().UTC()
	day := now.Format(time.DateOnly)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[name]
	if e == nil {
		e = &budgetEntry{}
		b.m[name] = e
	}
	if e.day != day {
		*e = budgetEntry{day: day, loading: e.loading}
	}
	e.limit = limit
	if !e.loading && (!e.known || now.Sub(e.readAt) >= b.refresh) {
		e.loading = true
		go b.load(name, now)
	}
	if e.known && e.limit > 0 && e.used+e.local >= e.limit {
		return errBudget(name, e.limit, nextDay(now))
	}
	return nil
}

// add counts tokens this container just served for name.
func (b *budgets) add(name string, at time.Time, tokens int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.m[name]; e != nil && e.day == at.UTC().Format(time.DateOnly) {
		e.local += tokens
	}
}

func (b *budgets) load(name string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), usageTimeout)
	defer cancel()
	used, err := b.src.UsedToday(ctx, name, now)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[name]
	e.loading = false
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, "load key budget", slog.String("key", name), slog.String("error", err.Error()))
		return
	}
	if e.day != now.Format(time.DateOnly) {
		return // a new day began meanwhile: the next check reloads
	}
	e.known, e.used, e.local, e.readAt = true, used, 0, now
}

// nextDay is the start of the UTC day after t: when daily budgets reset.
func nextDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// errBudget is the 429 for a key past its daily budget. The Messages front
// answers it as Anthropic's rate_limit_error.
func errBudget(name string, limit int64, resetsAt time.Time) *apiError {
	return &apiError{status: http.StatusTooManyRequests, typ: "insufficient_quota", code: "insufficient_quota",
		message: fmt.Sprintf("The codexgate key %q has used its daily budget of %d tokens; it resets at %s.",
			name, limit, resetsAt.Format(time.RFC3339)), resetsAt: resetsAt}
}
