package metering

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// KeyBudget is a key's token budgets (input + output tokens); 0: none.
// Daily runs per UTC day, Weekly per ISO week (Monday 00:00 UTC to the
// next Monday).
type KeyBudget struct {
	Daily  int64
	Weekly int64
}

// BudgetSource tells a Meter what a key with a budget used on a UTC day,
// across every container (awsstores.Budgets sums the table's usage
// counters of that day and key).
type BudgetSource interface {
	TokensOn(ctx context.Context, name string, day time.Time) (int64, error)
}

// DefaultBudgetRefresh is how old a container's view of a key's use today
// may get before it is read again (in the background).
const DefaultBudgetRefresh = 10 * time.Second

// pastSettle is how long after midnight (UTC) the week's earlier days are
// still read again with each refresh: yesterday's last flushes (every
// container's) land in the first seconds of the new day.
const pastSettle = 2 * time.Minute

// budgets enforces daily and weekly token budgets from a per-container
// cache, so the check before the first byte makes no AWS call: a stale or
// missing entry is reloaded in the background and the request goes on
// meanwhile. What this container served is added locally at once, and
// stays counted until the table holds it (its flushed write succeeded) and
// a later read saw it. The week's use is the week's earlier days, read once
// per key and day (a day that is over no longer changes; read again with
// each refresh during its first pastSettle, while the last writes of the
// day before land), plus today.
//
// Overshoot: a key can exceed a budget by the tokens of the requests
// admitted while the counters this container sees are below it: requests in
// flight when the budget was crossed (their usage is known only at their
// end), and what other containers served in the last refresh period plus
// one flush interval (1 s in `codexgate serve`; a Lambda writes at the end
// of each invocation) plus one table read: their use is seen once it is
// written and re-read. Until a fresh container's first load lands, it
// counts only what it served itself.
type budgets struct {
	src     BudgetSource
	refresh time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu sync.Mutex
	m  map[string]*budgetEntry
}

type budgetEntry struct {
	day          string // UTC day the counters are of
	known        bool   // today's use loaded at least once for day
	used         int64  // today, from the table at the last load
	local        int64  // served by this container, not in used
	unwritten    int64  // served by this container today, write not yet done
	writtenSince int64  // written since the running load began: maybe not in its read
	readAt       time.Time
	pastKnown    bool      // past loaded for day
	past         int64     // the week's days before day, from the table
	pastAt       time.Time // when past was read
	loading      bool
}

func newBudgets(src BudgetSource, refresh time.Duration, now func() time.Time, log *slog.Logger) *budgets {
	if src == nil {
		return nil
	}
	return &budgets{src: src, refresh: refresh, now: now, log: log, m: map[string]*budgetEntry{}}
}

// check refuses a key whose known use reached one of its budgets with an
// *OverBudget; it never waits for the store. A key without a budget costs
// no store call.
func (b *budgets) check(name string, kb KeyBudget) error {
	if b == nil || (kb.Daily <= 0 && kb.Weekly <= 0) {
		return nil
	}
	now := b.now().UTC()
	day := utcDay(now)
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
	needPast := kb.Weekly > 0 && !e.pastKnown
	if !e.loading && (!e.known || needPast || now.Sub(e.readAt) >= b.refresh) {
		e.loading, e.writtenSince = true, 0
		settled := e.pastKnown && !e.pastAt.Before(dayStart(now).Add(pastSettle))
		go b.load(name, now, kb.Weekly > 0 && !settled)
	}
	// Before a load lands, used and past are 0 and what this container
	// served is a lower bound of the key's use: a slow or failing table
	// read never lets one container serve past a budget on its own.
	today := e.used + e.local
	// The weekly refusal first: when both are reached, waiting for
	// tomorrow would not help.
	if kb.Weekly > 0 && e.past+today >= kb.Weekly {
		return &OverBudget{Key: name, Budget: "weekly", Limit: kb.Weekly, ResetsAt: nextWeek(now)}
	}
	if kb.Daily > 0 && today >= kb.Daily {
		return &OverBudget{Key: name, Budget: "daily", Limit: kb.Daily, ResetsAt: nextDay(now)}
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
	if e := b.m[name]; e != nil && e.day == utcDay(at) {
		e.local += tokens
		e.unwritten += tokens
	}
}

// written is told of each usage delta the table now holds.
func (b *budgets) written(u Record) {
	if b == nil {
		return
	}
	tokens := u.InputTokens + u.OutputTokens
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.m[u.Key]; e != nil && e.day == utcDay(u.Time) {
		e.unwritten = max(e.unwritten-tokens, 0) // requests served before the entry existed were not added
		e.writtenSince += tokens
	}
}

// load reads the key's use today and, when past, of the week's earlier
// days.
func (b *budgets) load(name string, now time.Time, past bool) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var (
		before  int64
		pastErr error
	)
	if past {
		for d := weekStart(now); d.Before(dayStart(now)); d = d.AddDate(0, 0, 1) {
			n, err := b.src.TokensOn(ctx, name, d)
			if err != nil {
				pastErr = err
				break
			}
			before += n
		}
	}
	used, err := b.src.TokensOn(ctx, name, now)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[name]
	e.loading = false
	if e.day != utcDay(now) {
		return // a new day began meanwhile: the next check reloads
	}
	switch {
	case pastErr != nil:
		b.log.LogAttrs(ctx, slog.LevelWarn, "load key budget: the week's earlier days", slog.String("key", name), slog.String("error", pastErr.Error()))
	case past:
		e.pastKnown, e.past, e.pastAt = true, before, now
	}
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, "load key budget", slog.String("key", name), slog.String("error", err.Error()))
		return
	}
	// What this container served and the read may lack: deltas not yet
	// written, and those written while it ran.
	e.known, e.used, e.local, e.readAt = true, used, e.unwritten+e.writtenSince, now
}

// utcDay names t's UTC day (YYYY-MM-DD): the day budgets and usage
// counters count for.
func utcDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// dayStart is the start of t's UTC day.
func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// weekStart is the start of t's ISO week: Monday 00:00 UTC.
func weekStart(t time.Time) time.Time {
	d := dayStart(t)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// nextWeek is the start of the ISO week after t's: when weekly budgets
// reset.
func nextWeek(t time.Time) time.Time { return weekStart(t).AddDate(0, 0, 7) }

// nextDay is the start of the UTC day after t: when daily budgets reset.
func nextDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// OverBudget is Check's refusal: the key used its daily or weekly budget.
type OverBudget struct {
	Key      string
	Budget   string // "daily" or "weekly"
	Limit    int64
	ResetsAt time.Time // when the budget starts over
}

func (e *OverBudget) Error() string {
	return fmt.Sprintf("The codexgate key %q has used its %s budget of %d tokens; it resets at %s.",
		e.Key, e.Budget, e.Limit, e.ResetsAt.Format(time.RFC3339))
}
