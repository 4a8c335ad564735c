package metering

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Meter counts a process's requests against their keys' budgets and sums
// their usage for the store. It is safe for concurrent use; the zero
// parts of a Meter made without a Recorder or a BudgetSource do nothing.
type Meter struct {
	budgets *budgets // nil without a BudgetSource
	batch   *batch   // nil without a Recorder
}

// Options configure a Meter.
type Options struct {
	// Recorder stores the summed usage at each flush; nil records none.
	Recorder Recorder
	// Budgets reads the keys' use for their budgets; nil enforces none.
	Budgets BudgetSource
	// BudgetRefresh is how stale a container's view of a key's use may
	// get before it is reloaded in the background.
	BudgetRefresh time.Duration
	Clock         func() time.Time
	Logger        *slog.Logger
}

// New returns a Meter. It makes no store call.
func New(o Options) *Meter {
	m := &Meter{budgets: newBudgets(o.Budgets, o.BudgetRefresh, o.Clock, o.Logger)}
	m.batch = newBatch(o.Recorder, o.Logger, m.budgets.written)
	return m
}

// Check refuses a key whose known use reached one of its budgets with an
// *OverBudget; it never waits for the store. A key without a budget costs
// nothing.
func (m *Meter) Check(key string, b KeyBudget) error {
	return m.budgets.check(key, b)
}

// Add counts one request's usage: the key's budget sees it at once, the
// store at the next flush.
func (m *Meter) Add(r Record) {
	m.budgets.add(r.Key, r.Time, r.InputTokens+r.OutputTokens)
	m.batch.add(r)
}

// Flush writes the usage summed since the last flush, one write per
// counter (UTC day, key, account, model), and waits for those writes or
// ctx. A delta whose write failed stays pending for the next flush; the
// error says how many.
func (m *Meter) Flush(ctx context.Context) error {
	return m.batch.flush(ctx)
}

// Wait blocks until every write in flight, of any flush, is done, or ctx
// ends.
func (m *Meter) Wait(ctx context.Context) error {
	return m.batch.wait(ctx)
}

// WaitGroup waits for wg or ctx, for a caller that must not block past its
// deadline on work that is not its own.
func WaitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
