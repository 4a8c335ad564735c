package usage

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

var fetched = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParse_Fixture(t *testing.T) {
	body, err := os.ReadFile("testdata/usage.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(body, fetched)
	if err != nil {
		t.Fatal(err)
	}
	want := quota.Snapshot{
		Plan: "plus", Allowed: true, FetchedAt: fetched, Credits: quota.Credits{Balance: "0"},
		Windows: []quota.Window{
			{Kind: quota.Kind5h, UsedPercent: 42.5, WindowSeconds: 18000, ResetAt: time.Unix(1767229200, 0).UTC()},
			{Kind: quota.KindWeekly, UsedPercent: 10, WindowSeconds: 604800, ResetAt: time.Unix(1767312000, 0).UTC()},
		},
	}
	assertSnapshot(t, s, want)
}

func TestParse_Cases(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		kinds []string // expected window kinds, in answer order
		used  []float64
		check func(t *testing.T, s quota.Snapshot)
	}{
		{
			name:  "swapped windows classified by length",
			body:  `{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":7,"limit_window_seconds":604800,"reset_at":1767312000},"secondary_window":{"used_percent":55,"limit_window_seconds":18000,"reset_at":1767229200}}}`,
			kinds: []string{quota.KindWeekly, quota.Kind5h}, used: []float64{7, 55},
		},
		{
			name:  "secondary missing",
			body:  `{"plan_type":"plus","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":1,"limit_window_seconds":18000,"reset_at":1767229200}}}`,
			kinds: []string{quota.Kind5h}, used: []float64{1},
		},
		{
			name:  "both windows null",
			body:  `{"plan_type":"free","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":null,"secondary_window":null},"credits":null}`,
			kinds: nil,
		},
		{
			name:  "unknown window length is other",
			body:  `{"rate_limit":{"primary_window":{"used_percent":3,"limit_window_seconds":86400}}}`,
			kinds: []string{quota.KindOther}, used: []float64{3},
			check: func(t *testing.T, s quota.Snapshot) {
				if !s.Allowed || !s.Windows[0].ResetAt.IsZero() {
					t.Errorf("allowed=%v reset=%v, want allowed (no flag) and no reset", s.Allowed, s.Windows[0].ResetAt)
				}
			},
		},
		{
			name:  "reset_after_seconds only",
			body:  `{"rate_limit":{"allowed":true,"primary_window":{"used_percent":0,"limit_window_seconds":18000,"reset_after_seconds":600}}}`,
			kinds: []string{quota.Kind5h}, used: []float64{0},
			check: func(t *testing.T, s quota.Snapshot) {
				if want := fetched.Add(10 * time.Minute); !s.Windows[0].ResetAt.Equal(want) {
					t.Errorf("reset = %v, want %v", s.Windows[0].ResetAt, want)
				}
			},
		},
		{
			name: "numeric balance and limit reached",
			body: `{"rate_limit":{"allowed":false,"limit_reached":true},"credits":{"has_credits":true,"unlimited":false,"balance":12.5}}`,
			check: func(t *testing.T, s quota.Snapshot) {
				if s.Allowed || !s.LimitReached || s.Credits != (quota.Credits{HasCredits: true, Balance: "12.5"}) {
					t.Errorf("snapshot = %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.body), fetched)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Windows) != len(tt.kinds) {
				t.Fatalf("windows = %+v, want kinds %v", s.Windows, tt.kinds)
			}
			for i, w := range s.Windows {
				if w.Kind != tt.kinds[i] || w.UsedPercent != tt.used[i] {
					t.Errorf("window %d = %+v, want kind %s used %v", i, w, tt.kinds[i], tt.used[i])
				}
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestParse_Garbage(t *testing.T) {
	for _, body := range []string{
		``, `not json`, `<html>502 Bad Gateway</html>`, `[]`, `null`, `{}`, `{"plan_type":"plus"}`,
		`{"rate_limit":{"primary_window":{"used_percent":"lots"}}}`,
		`{"rate_limit":{"primary_window":{"used_percent":-1,"limit_window_seconds":18000}}}`,
	} {
		if s, err := Parse([]byte(body), fetched); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrMalformed", body, s, err)
		}
	}
}

func assertSnapshot(t *testing.T, got, want quota.Snapshot) {
	t.Helper()
	if got.Plan != want.Plan || got.Allowed != want.Allowed || got.LimitReached != want.LimitReached ||
		got.Credits != want.Credits || !got.FetchedAt.Equal(want.FetchedAt) || len(got.Windows) != len(want.Windows) {
		t.Fatalf("snapshot = %+v, want %+v", got, want)
	}
	for i := range want.Windows {
		g, w := got.Windows[i], want.Windows[i]
		if g.Kind != w.Kind || g.UsedPercent != w.UsedPercent || g.WindowSeconds != w.WindowSeconds || !g.ResetAt.Equal(w.ResetAt) {
			t.Errorf("window %d = %+v, want %+v", i, g, w)
		}
	}
}
