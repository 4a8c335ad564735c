package quota

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		seconds int64
		want    string
	}{
		{18000, Kind5h}, {18060, Kind5h}, {17000, Kind5h},
		{604800, KindWeekly}, {600000, KindWeekly},
		{86400, KindOther}, {3600, KindOther}, {0, KindOther}, {-5, KindOther}, {2592000, KindOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.seconds); got != tt.want {
			t.Errorf("Classify(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestSnapshot_Exhausted(t *testing.T) {
	fetched := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r1, r2 := fetched.Add(time.Hour), fetched.Add(48*time.Hour)
	tests := []struct {
		name      string
		s         Snapshot
		limited   bool
		wantUntil time.Time
	}{
		{"quota left", Snapshot{Allowed: true, Windows: []Window{{UsedPercent: 99, ResetAt: r1}, {UsedPercent: 50, ResetAt: r2}}}, false, time.Time{}},
		{"5h window full", Snapshot{Allowed: true, Windows: []Window{{UsedPercent: 100, ResetAt: r1}, {UsedPercent: 50, ResetAt: r2}}}, true, r1},
		{"both full: latest reset", Snapshot{Windows: []Window{{UsedPercent: 100, ResetAt: r1}, {UsedPercent: 100, ResetAt: r2}}}, true, r2},
		{"flag only: latest reset of any window", Snapshot{LimitReached: true, Windows: []Window{{UsedPercent: 80, ResetAt: r1}, {UsedPercent: 90, ResetAt: r2}}}, true, r2},
		{"not allowed, no windows", Snapshot{Allowed: false}, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limited, until := tt.s.Exhausted()
			if limited != tt.limited || !until.Equal(tt.wantUntil) {
				t.Errorf("Exhausted() = %v, %v; want %v, %v", limited, until, tt.limited, tt.wantUntil)
			}
		})
	}
}
