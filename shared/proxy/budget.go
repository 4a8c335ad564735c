package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// BudgetSource tells the proxy a key's daily token budget and what the key
// used today, across every container (awsstores.Budgets reads them from
// the table).
type BudgetSource interface {
	KeyBudget(ctx context.Context, name string, now time.Time) (KeyBudget, error)
}

// KeyBudget is a key's daily budget and the day's use so far.
type KeyBudget struct {
	DailyTokens int64 // input + output tokens a day (UTC); 0: no budget
	UsedToday   int64 // input + output tokens counted today
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
	limit   int64
	used    int64 // from the table at the last load
	local   int64 // served by this container since that load
	readAt  time.Time
	loading bool
}

func newBudgets(src BudgetSource, refresh time.Duration, now func() time.Time, log *slog.Logger) *budgets {
	if src == nil {
		return nil
	}
	return &budgets{src: src, refresh: refresh, now: now, log: log, m: map[string]*budgetEntry{}}
}

// check refuses a key whose known use reached its budget; it never waits
// for the store.
func (b *budgets) check(name string) error {
	if b == nil {
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
		*e = budgetEntry{day: day, limit: e.limit, loading: e.loading}
	}
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
	kb, err := b.src.KeyBudget(ctx, name, now)
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
	e.known, e.limit, e.used, e.local, e.readAt = true, kb.DailyTokens, kb.UsedToday, 0, now
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
