package codex

import (
	"testing"
	"time"
)

func TestRefreshRate_Take(t *testing.T) {
	rate := RefreshRate{Burst: 3, Every: 15 * time.Minute}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		budget    RefreshBudget
		now       time.Time
		wantOK    bool
		wantLeft  float64
		wantRetry time.Time
	}{
		{name: "NeverStoredIsFull", budget: RefreshBudget{}, now: t0, wantOK: true, wantLeft: 2},
		{name: "OneLeft", budget: RefreshBudget{Tokens: 1, At: t0}, now: t0, wantOK: true, wantLeft: 0},
		{name: "Empty", budget: RefreshBudget{Tokens: 0, At: t0}, now: t0, wantRetry: t0.Add(15 * time.Minute)},
		{name: "HalfRefilled", budget: RefreshBudget{Tokens: 0.5, At: t0}, now: t0, wantRetry: t0.Add(7*time.Minute + 30*time.Second)},
		{name: "RefillsOverTime", budget: RefreshBudget{Tokens: 0, At: t0}, now: t0.Add(15 * time.Minute), wantOK: true, wantLeft: 0},
		{name: "RefillCapsAtBurst", budget: RefreshBudget{Tokens: 0, At: t0}, now: t0.Add(24 * time.Hour), wantOK: true, wantLeft: 2},
		// Another machine's clock ran ahead: nothing refills until then.
		{name: "StampedInTheFuture", budget: RefreshBudget{Tokens: 0, At: t0.Add(5 * time.Minute)}, now: t0, wantRetry: t0.Add(15 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, retry, ok := rate.take(tt.budget, tt.now)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && (next.Tokens != tt.wantLeft || !next.At.Equal(tt.now)) {
				t.Errorf("next = %+v, want %v tokens at %v", next, tt.wantLeft, tt.now)
			}
			if !ok && !retry.Equal(tt.wantRetry) {
				t.Errorf("retry at %v, want %v", retry, tt.wantRetry)
			}
		})
	}
}

// The default budget never refuses ordinary operation and caps a loop far
// below Secrets Manager's ~100 versions a day.
func TestDefaultRefreshRate_DayOfALoop(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var b RefreshBudget
	n := 0
	for now := t0; now.Before(t0.Add(24 * time.Hour)); now = now.Add(time.Minute) {
		if next, _, ok := DefaultRefreshRate.take(b, now); ok {
			b, n = next, n+1
		}
	}
	if n > 100 {
		t.Fatalf("a refresh every minute for a day got %d refreshes through", n)
	}
	// Ordinary operation: a burst of five (a 401 storm after an import, an
	// operator's forced refresh) is never refused.
	b = RefreshBudget{}
	for i := range 5 {
		var ok bool
		if b, _, ok = DefaultRefreshRate.take(b, t0); !ok {
			t.Fatalf("refresh %d of a burst refused", i+1)
		}
	}
}

// TestDefaultRefreshRate_WorstDay: a loop that refreshes whenever the budget
// allows (every 10 s for two days, starting from a full bucket) never gets
// more than the 100 versions Secrets Manager keeps through in any 24 hours.
func TestDefaultRefreshRate_WorstDay(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	const step = 10 * time.Second
	var b RefreshBudget
	var at []time.Time
	for now := t0; now.Before(t0.Add(48 * time.Hour)); now = now.Add(step) {
		if next, _, ok := DefaultRefreshRate.take(b, now); ok {
			b, at = next, append(at, now)
		}
	}
	worst := 0
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < 24*time.Hour; j++ {
			n++
		}
		worst = max(worst, n)
	}
	if worst > 100 {
		t.Fatalf("worst 24 h window: %d refreshes, over Secrets Manager's 100 versions", worst)
	}
	if worst < 95 {
		t.Errorf("worst 24 h window: %d refreshes; the simulation should come close to the bound", worst)
	}
	t.Logf("worst 24 h window: %d refreshes (burst %d, one every %s)", worst, DefaultRefreshRate.Burst, DefaultRefreshRate.Every)
}

func TestLeaseWatches_TakeoverOnlyAfterAFullSilentLease(t *testing.T) {
	var w leaseWatches
	t0 := time.Now()
	rec := &LeaseHeldError{Owner: "a", Fence: 1, Beat: 0, TTL: 10 * time.Second}
	if w.observe("k", rec, t0, time.Minute) != nil {
		t.Fatal("first sight must not allow a takeover")
	}
	if w.observe("k", rec, t0.Add(9*time.Second), time.Minute) != nil {
		t.Fatal("takeover before the lease's duration")
	}
	beat := &LeaseHeldError{Owner: "a", Fence: 1, Beat: 1, TTL: 10 * time.Second}
	if w.observe("k", beat, t0.Add(11*time.Second), time.Minute) != nil {
		t.Fatal("a renewal must restart the watch")
	}
	if got := w.observe("k", beat, t0.Add(21*time.Second), time.Minute); got != beat {
		t.Fatalf("after a full silent lease: %v, want the record", got)
	}
}

// TestRefreshRate_Left: what the console shows agrees with take.
func TestRefreshRate_Left(t *testing.T) {
	rate := RefreshRate{Burst: 3, Every: 15 * time.Minute}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		b    RefreshBudget
		now  time.Time
		want int
	}{
		{RefreshBudget{}, t0, 3},
		{RefreshBudget{Tokens: 0.5, At: t0}, t0, 0},
		{RefreshBudget{Tokens: 0.5, At: t0}, t0.Add(8 * time.Minute), 1},
		{RefreshBudget{Tokens: 0, At: t0}, t0.Add(24 * time.Hour), 3},
		{RefreshBudget{Tokens: 1, At: t0.Add(time.Hour)}, t0, 1},
	} {
		if got := rate.Left(c.b, c.now); got != c.want {
			t.Errorf("Left(%+v, %s) = %d, want %d", c.b, c.now.Sub(t0), got, c.want)
		}
		_, _, ok := rate.take(c.b, c.now)
		if ok != (c.want >= 1) {
			t.Errorf("take(%+v) ok = %v while Left = %d", c.b, ok, c.want)
		}
	}
}
