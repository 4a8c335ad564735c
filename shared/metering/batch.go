package metering

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

// batch sums each request's usage per counter (UTC day, key, account,
// model) and writes every counter's delta as one Recorder call when
// flushed. Under sustained load a long-lived process (`codexgate serve`,
// flushing every second) then makes one table write per counter and
// interval instead of one per request: the table applies the writes to one
// item one at a time, so a write per request would fill the write slots
// and slow the ends of answers. A Lambda invocation flushes at its end, so
// there it stays one write per request.
//
// A delta leaves the sums only when its write succeeded; a failed write is
// merged back for the next flush. A write whose answer was lost (timeout
// after the table applied it) is merged back too and so counted twice, the
// same as an SDK retry of a lost answer.
type batch struct {
	rec     Recorder
	log     *slog.Logger
	written func(Record) // told of each delta the recorder stored (budgets)

	mu      sync.Mutex
	pending map[counter]Record

	writes sync.WaitGroup // writes in flight, of any flush
	slots  chan struct{}  // bounds them (maxWrites)
}

// counter names one stored counter.
type counter struct{ day, key, account, model string }

func newBatch(rec Recorder, log *slog.Logger, written func(Record)) *batch {
	if rec == nil {
		return nil
	}
	return &batch{rec: rec, log: log, written: written, pending: map[counter]Record{}, slots: make(chan struct{}, maxWrites)}
}

func counterOf(u Record) counter {
	return counter{day: utcDay(u.Time), key: u.Key, account: u.Account, model: u.Model}
}

// add sums u into its counter's pending delta.
func (b *batch) add(u Record) {
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

// mergeLocked adds u to the pending sums; false when u would be a new
// counter beyond maxPendingCounters (then it is dropped).
func (b *batch) mergeLocked(u Record) bool {
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
// maxWrites at once), and waits for them or ctx. A write that failed
// is merged back into the sums and reported in the error.
func (b *batch) flush(ctx context.Context) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	batch := b.pending
	if len(batch) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.pending = make(map[counter]Record, len(batch))
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
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
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
	if err := WaitGroup(ctx, &mine); err != nil {
		return fmt.Errorf("flush usage: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("flush usage: %d of %d counters not written, kept for the next flush", n, len(batch))
	}
	return nil
}

// wait blocks until every write in flight (of any flush) is done, or ctx
// ends.
func (b *batch) wait(ctx context.Context) error {
	if b == nil {
		return nil
	}
	return WaitGroup(ctx, &b.writes)
}
