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
