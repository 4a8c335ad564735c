package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// maxPendingCounters bounds the counters a process sums between flushes.
// A counter is one (UTC day, key, account, model): a team's keys times a
// few accounts and models, far below it.
const maxPendingCounters = 4096

// usageBatch sums each request's usage per counter (UTC day, key, account,
// model) and writes every counter's delta as one UsageRecorder call when
// flushed. Under sustained load a long-lived process (`codexgate serve`,
// flushing every second) then makes one table write per counter and
// interval instead of one per request: the table applies writes one at a
// time per item, and a write per request filled the write slots and slowed
// the ends of answers. A Lambda invocation flushes at its end (Wait), so
// there it stays one write per request.
//
// A delta leaves the sums only when its write succeeded; a failed write is
// merged back for the next flush. A write whose answer was lost (timeout
// after the table applied it) is merged back too and so counted twice, the
// same as an SDK retry of a lost answer.
type usageBatch struct {
	rec     UsageRecorder
	log     *slog.Logger
	written func(UsageRecord) // told of each delta the recorder stored (budgets)

	mu      sync.Mutex
	pending map[usageCounter]UsageRecord

	writes sync.WaitGroup // writes in flight, of any flush
	slots  chan struct{}  // bounds them (maxUsageWrites)
}

// usageCounter names one stored counter.
type usageCounter struct{ day, key, account, model string }

func newUsageBatch(rec UsageRecorder, log *slog.Logger, written func(UsageRecord)) *usageBatch {
	if rec == nil {
		return nil
	}
	return &usageBatch{rec: rec, log: log, written: written, pending: map[usageCounter]UsageRecord{}, slots: make(chan struct{}, maxUsageWrites)}
}

func counterOf(u UsageRecord) usageCounter {
	return usageCounter{day: utcDay(u.Time), key: u.Key, account: u.Account, model: u.Model}
}

// add sums u into its counter's pending delta.
func (b *usageBatch) add(u UsageRecord) {
	if b == nil {
		return
	}
	b.mu.Lock()
	ok := b.mergeLocked(u)
	b.mu.Unlock()
	if !ok {
		b.log.LogAttrs(context.Background(), slog.LevelWarn, "usage not recorded: too many pending counters",
			slog.String("key", u.Key), slog.Int("max_counters", maxPendingCounters))
	}
}

// add adds o's requests and token counts to r's.
func (r *UsageRecord) add(o UsageRecord) {
	r.Requests += o.Requests
	r.InputTokens += o.InputTokens
	r.CachedTokens += o.CachedTokens
	r.OutputTokens += o.OutputTokens
	r.ReasoningTokens += o.ReasoningTokens
}

// mergeLocked adds u to the pending sums; false when u would be a new
// counter beyond maxPendingCounters (then it is dropped).
func (b *usageBatch) mergeLocked(u UsageRecord) bool {
	id := counterOf(u)
	cur, ok := b.pending[id]
	if !ok {
		if len(b.pending) >= maxPendingCounters {
			return false
		}
		b.pending[id] = u
		return true
	}
	cur.add(u)
	if u.Time.After(cur.Time) {
		cur.Time = u.Time // same UTC day: the counter is unchanged
	}
	b.pending[id] = cur
	return true
}

// flush writes every pending counter, one write each (at most
// maxUsageWrites at once), and waits for them or ctx. A write that failed
// is merged back into the sums and reported in the error.
func (b *usageBatch) flush(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	batch := b.pending
	if len(batch) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.pending = make(map[usageCounter]UsageRecord, len(batch))
	b.mu.Unlock()

	var (
		mine   sync.WaitGroup // this flush's writes
		failed atomic.Int64
	)
	for _, u := range batch {
		b.slots <- struct{}{}
		b.writes.Add(1)
		mine.Add(1)
		go func() {
			defer b.writes.Done()
			defer mine.Done()
			defer func() { <-b.slots }()
			wctx, cancel := detached(ctx, usageTimeout)
			defer cancel()
			if err := b.rec.RecordUsage(wctx, u); err != nil {
				failed.Add(1)
				b.mu.Lock()
				kept := b.mergeLocked(u)
				b.mu.Unlock()
				b.log.LogAttrs(wctx, slog.LevelWarn, "record usage", slog.String("key", u.Key), slog.Int64("requests", u.Requests),
					slog.Bool("kept_for_next_flush", kept), slog.String("error", err.Error()))
				return
			}
			if b.written != nil {
				b.written(u)
			}
		}()
	}
	if err := waitGroup(ctx, &mine); err != nil {
		return fmt.Errorf("flush usage: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("flush usage: %d of %d counters not written, kept for the next flush", n, len(batch))
	}
	return nil
}

// wait blocks until every write in flight (of any flush) is done, or ctx
// ends.
func (b *usageBatch) wait(ctx context.Context) error {
	if b == nil {
		return nil
	}
	return waitGroup(ctx, &b.writes)
}

// waitGroup waits for wg or ctx.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
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
