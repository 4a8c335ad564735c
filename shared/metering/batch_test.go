package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// usageLog is a Recorder that keeps what it was given: the "table".
type usageLog struct {
	mu   sync.Mutex
	recs []Record
}

func (l *usageLog) RecordUsage(_ context.Context, u Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, u)
	return nil
}

func (l *usageLog) records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.recs...)
}

// flakyLog is a usageLog whose writes fail while failing is set.
type flakyLog struct {
	usageLog
	failing atomic.Bool
	calls   atomic.Int64
}

func (f *flakyLog) RecordUsage(ctx context.Context, u Record) error {
	f.calls.Add(1)
	if f.failing.Load() {
		return errors.New("dynamodb: throttled")
	}
	return f.usageLog.RecordUsage(ctx, u)
}

// sums adds records up per counter.
func sums(recs []Record) map[counter]Record {
	out := map[counter]Record{}
	for _, r := range recs {
		id := counterOf(r)
		s := out[id]
		s.Requests += r.Requests
		s.InputTokens += r.InputTokens
		s.CachedTokens += r.CachedTokens
		s.OutputTokens += r.OutputTokens
		s.ReasoningTokens += r.ReasoningTokens
		out[id] = s
	}
	return out
}

var batchDay = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func rec(key, account, model string, at time.Time, in, out int64) Record {
	return Record{Time: at, Key: key, Account: account, Requests: 1,
		Usage: Usage{Model: model, InputTokens: in, CachedTokens: in / 2, OutputTokens: out, ReasoningTokens: out / 3}}
}

// Many goroutines record while flushes run: the stored sums are exact, and
// each flush writes a counter once.
func TestBatch_Flush_ExactUnderConcurrency(t *testing.T) {
	log := &usageLog{}
	b := newBatch(log, slog.New(slog.DiscardHandler), nil)
	keys := []string{"alice", "bob", "carol"}
	const writers, each = 16, 300
	want := map[counter]Record{}
	var wmu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			mine := []Record{}
			for i := range each {
				r := rec(keys[(w+i)%len(keys)], fmt.Sprint("acct-", i%2), "gpt-5-codex", batchDay, int64(100+i), int64(w+1))
				b.add(r)
				mine = append(mine, r)
			}
			wmu.Lock()
			defer wmu.Unlock()
			for id, s := range sums(mine) {
				cur := want[id]
				cur.Requests += s.Requests
				cur.InputTokens += s.InputTokens
				cur.CachedTokens += s.CachedTokens
				cur.OutputTokens += s.OutputTokens
				cur.ReasoningTokens += s.ReasoningTokens
				want[id] = cur
			}
		})
	}
	stop := make(chan struct{})
	flushes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { flushes <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.flush(context.Background()); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	wg.Wait()
	close(stop)
	nflush := <-flushes
	if err := b.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := log.records()
	got := sums(recs)
	if len(got) != len(want) {
		t.Fatalf("%d counters stored, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%v: stored %+v, want %+v", id, got[id], w)
		}
	}
	// A counter is written at most once per flush: fewer writes than
	// requests, and no more than counters x flushes.
	if len(recs) >= writers*each || len(recs) > len(want)*(nflush+1) {
		t.Errorf("%d writes for %d requests, %d counters and %d flushes", len(recs), writers*each, len(want), nflush+1)
	}
	t.Logf("%d requests, %d counters: %d writes in %d flushes", writers*each, len(want), len(recs), nflush+1)
}

// A failed write keeps its delta (merged with what came meanwhile) for the
// next flush. Negative control: the failing flush stores nothing, so a
// batch that dropped the delta would end short by exactly that.
func TestBatch_Flush_FailedWriteRequeued(t *testing.T) {
	f := &flakyLog{}
	var written atomic.Int64 // deltas the budgets were told were stored
	b := newBatch(f, slog.New(slog.DiscardHandler), func(Record) { written.Add(1) })
	b.add(rec("alice", "a", "m", batchDay, 100, 10))
	b.add(rec("alice", "a", "m", batchDay, 200, 20))
	b.add(rec("bob", "a", "m", batchDay, 7, 3))
	f.failing.Store(true)
	err := b.flush(context.Background())
	if err == nil || len(f.records()) != 0 || f.calls.Load() != 2 {
		t.Fatalf("failing flush: err %v, %d stored, %d calls; want an error, 0, 2 (one per counter)", err, len(f.records()), f.calls.Load())
	}
	if written.Load() != 0 {
		t.Errorf("budgets told of %d writes that failed", written.Load())
	}
	b.add(rec("alice", "a", "m", batchDay, 1, 1)) // arrives between the flushes
	f.failing.Store(false)
	if err := b.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sums(f.records())
	alice, bob := got[counterOf(rec("alice", "a", "m", batchDay, 0, 0))], got[counterOf(rec("bob", "a", "m", batchDay, 0, 0))]
	if alice.Requests != 3 || alice.InputTokens != 301 || alice.OutputTokens != 31 || alice.CachedTokens != 50+100 ||
		bob.Requests != 1 || bob.InputTokens != 7 || len(f.records()) != 2 {
		t.Errorf("after the retry: alice %+v, bob %+v, %d writes; want alice 3 requests 301/31, bob 1 request, 2 writes",
			alice, bob, len(f.records()))
	}
	if written.Load() != 2 {
		t.Errorf("budgets told of %d writes, want 2", written.Load())
	}
	if err := b.flush(context.Background()); err != nil || len(f.records()) != 2 {
		t.Errorf("an empty flush wrote: %v, %d", err, len(f.records()))
	}
}

// Requests on both sides of midnight (UTC) go to two counters, each of its
// day.
func TestBatch_Flush_DayBoundarySplits(t *testing.T) {
	log := &usageLog{}
	b := newBatch(log, slog.New(slog.DiscardHandler), nil)
	before := time.Date(2026, 5, 1, 23, 59, 59, 0, time.UTC)
	after := time.Date(2026, 5, 2, 0, 0, 1, 0, time.UTC)
	b.add(rec("alice", "a", "m", before, 10, 1))
	b.add(rec("alice", "a", "m", before.Add(500*time.Millisecond), 20, 2))
	b.add(rec("alice", "a", "m", after, 40, 4))
	if err := b.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	byDay := map[string]Record{}
	for _, r := range log.records() {
		byDay[r.Time.UTC().Format(time.DateOnly)] = r
	}
	if d1, d2 := byDay["2026-05-01"], byDay["2026-05-02"]; len(byDay) != 2 || d1.Requests != 2 || d1.InputTokens != 30 ||
		d2.Requests != 1 || d2.InputTokens != 40 {
		t.Errorf("records by day %+v: want 2026-05-01 2 requests 30 in, 2026-05-02 1 request 40 in", byDay)
	}
}

// The pending sums are bounded in counters, not requests.
func TestBatch_Add_BoundedCounters(t *testing.T) {
	log := &usageLog{}
	b := newBatch(log, slog.New(slog.DiscardHandler), nil)
	for i := range maxPendingCounters + 10 {
		b.add(rec(fmt.Sprint("k", i), "a", "m", batchDay, 1, 1))
	}
	for range 1000 {
		b.add(rec("k0", "a", "m", batchDay, 1, 1)) // an existing counter always sums
	}
	b.mu.Lock()
	n, k0 := len(b.pending), b.pending[counterOf(rec("k0", "a", "m", batchDay, 0, 0))].Requests
	b.mu.Unlock()
	if n != maxPendingCounters || k0 != 1001 {
		t.Errorf("%d pending counters (k0: %d requests), want %d (1001)", n, k0, maxPendingCounters)
	}
}
