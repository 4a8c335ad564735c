package metering

import (
	"testing"
	"time"
)

func TestWeekStart(t *testing.T) {
	for _, tc := range []struct{ at, want string }{
		{"2026-05-04T00:00:00Z", "2026-05-04"}, // Monday
		{"2026-05-06T12:00:00Z", "2026-05-04"},
		{"2026-05-10T23:59:59Z", "2026-05-04"}, // Sunday
		{"2026-05-11T00:00:00Z", "2026-05-11"},
		{"2026-01-01T08:00:00Z", "2025-12-29"},      // across a year
		{"2026-05-04T01:00:00+02:00", "2026-04-27"}, // Sunday 23:00 UTC
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := weekStart(at).Format(time.DateOnly); got != tc.want {
			t.Errorf("weekStart(%s) = %s, want %s", tc.at, got, tc.want)
		}
		if got := nextWeek(at); got.Sub(weekStart(at)) != 7*24*time.Hour || got.Weekday() != time.Monday {
			t.Errorf("nextWeek(%s) = %s", tc.at, got)
		}
	}
}
