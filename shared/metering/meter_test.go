package metering

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// dayUse is a BudgetSource: each key's tokens on any day.
type dayUse map[string]int64

func (d dayUse) TokensOn(_ context.Context, name string, _ time.Time) (int64, error) {
	return d[name], nil
}

// loaded waits until the key's use today was read.
func loaded(t *testing.T, m *Meter, key string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		m.budgets.mu.Lock()
		e := m.budgets.m[key]
		known := e != nil && e.known && !e.loading
		m.budgets.mu.Unlock()
		if known {
			return
		}
	}
	t.Fatalf("%s: budget never loaded", key)
}

func TestMeter_Check_Cases(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		name       string
		budget     KeyBudget
		stored     int64 // the key's use in the store
		added      int64 // tokens this process served since
		wantBudget string
		wantReset  time.Time
	}{
		{"no budget", KeyBudget{}, 1 << 40, 0, "", time.Time{}},
		{"under the daily budget", KeyBudget{Daily: 100}, 60, 30, "", time.Time{}},
		{"daily budget reached by what this process served", KeyBudget{Daily: 100}, 60, 40, "daily", time.Date(2026, 5, 7, 0, 0, 0, 0, time.UTC)},
		{"weekly budget reached", KeyBudget{Daily: 1000, Weekly: 100}, 40, 0, "weekly", time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Budgets: dayUse{"alice": tc.stored}, BudgetRefresh: time.Hour, Clock: func() time.Time { return now },
				Logger: slog.New(slog.DiscardHandler)})
			if err := m.Check("alice", tc.budget); err != nil {
				t.Fatalf("first check (before any load) = %v, want admitted", err)
			}
			if tc.budget != (KeyBudget{}) {
				loaded(t, m, "alice")
			}
			m.Add(Record{Time: now, Key: "alice", Requests: 1, Usage: Usage{InputTokens: tc.added / 2, OutputTokens: tc.added - tc.added/2}})
			err := m.Check("alice", tc.budget)
			var ob *OverBudget
			switch {
			case tc.wantBudget == "" && err != nil:
				t.Errorf("Check = %v, want admitted", err)
			case tc.wantBudget != "" && (!errors.As(err, &ob) || ob.Budget != tc.wantBudget || !ob.ResetsAt.Equal(tc.wantReset)):
				t.Errorf("Check = %v, want the %s budget, resetting at %s", err, tc.wantBudget, tc.wantReset)
			}
		})
	}
}

// stalledUse is a BudgetSource whose reads wait until released: a table
// that does not answer.
type stalledUse chan struct{}

func (s stalledUse) TokensOn(ctx context.Context, _ string, _ time.Time) (int64, error) {
	select {
	case <-s:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestMeter_Check_BeforeTheFirstLoad: while the first read of a key's use
// has not landed, what this container served still counts against the
// budget. (Without it, every request was admitted until the read arrived:
// a slow table let one container serve any number of budgets.)
func TestMeter_Check_BeforeTheFirstLoad(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	stalled := make(stalledUse)
	defer close(stalled)
	for _, kb := range []KeyBudget{{Daily: 100}, {Weekly: 100}} {
		m := New(Options{Budgets: stalled, BudgetRefresh: time.Hour, Clock: func() time.Time { return now },
			Logger: slog.New(slog.DiscardHandler)})
		for served := int64(0); served < 100; served += 25 {
			if err := m.Check("alice", kb); err != nil {
				t.Fatalf("%+v: refused after %d of 100 tokens: %v", kb, served, err)
			}
			m.Add(Record{Time: now, Key: "alice", Requests: 1, Usage: Usage{InputTokens: 20, OutputTokens: 5}})
		}
		var ob *OverBudget
		if err := m.Check("alice", kb); !errors.As(err, &ob) {
			t.Errorf("%+v: 100 tokens served, the table still unread: Check = %v, want *OverBudget", kb, err)
		}
	}
}
