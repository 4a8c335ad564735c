package scheduled

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// TestQuotaCron_Handle_ThreeHundredSlowAccounts: 300 accounts, a usage
// endpoint that takes 400 ms per call, and runs of a 6 s deadline: the
// issue's 60 s timeout and 4 s calls scaled by 1:10 (Reserve too: 2.5 s
// for 25 s). No run outlives its deadline, each defers what it has no time
// for, and stalest-first ordering covers every account within 3 runs (in
// names' order the same alphabetical tail would be deferred every run).
func TestQuotaCron_Handle_ThreeHundredSlowAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("18 s of scheduled runs")
	}
	const n, runs = 300, 3
	const deadline, reserve, delay = 6 * time.Second, 2500 * time.Millisecond, 400 * time.Millisecond
	var all []string
	for i := range n {
		all = append(all, fmt.Sprintf("acct-%03d", i))
	}
	f := newFixture(t, all...)
	f.sim.InjectFault(openaisim.Fault{Path: "/backend-api/wham/usage", Delay: delay})
	states := newMemStates()
	q := &QuotaCron{Accounts: names(all...), Tokens: f.tokens, Usage: f.usage, States: states, Logger: quiet, Reserve: reserve}

	polledIn := budgetRuns(t, context.Background(), q, n, runs, deadline)
	for _, a := range all {
		if _, ok := polledIn[a]; !ok {
			t.Errorf("%s never polled in %d runs", a, runs)
		}
	}
	if len(states.quotas) != n {
		t.Errorf("%d snapshots stored, want %d", len(states.quotas), n)
	}
}

// TestStalestFirst: never polled first, then the oldest snapshot, names
// breaking ties.
func TestStalestFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	quotas := newMemStates().quotas
	quotas["a"] = snapshotAt("a", t0.Add(2*time.Minute))
	quotas["b"] = snapshotAt("b", t0)
	quotas["d"] = snapshotAt("d", t0)
	got := fmt.Sprint(stalestFirst([]string{"d", "a", "c", "b", "e", "c"}, quotas))
	if want := "[c e b d a]"; got != want {
		t.Errorf("stalestFirst = %s, want %s", got, want)
	}
}

func snapshotAt(account string, at time.Time) statestore.QuotaSnapshot {
	return statestore.QuotaSnapshot{Account: account, Snapshot: quota.Snapshot{FetchedAt: at}}
}

// registryStates is memStates whose Load also returns a registry, counting
// the Loads.
type registryStates struct {
	*memStates
	registered []string
	loads      int
}

func (r *registryStates) Load(ctx context.Context) (statestore.Snapshot, error) {
	r.loads++
	snap, err := r.memStates.Load(ctx)
	snap.Registered = r.registered
	return snap, err
}

// registryAccounts lists from the snapshot; its List must not be needed.
type registryAccounts struct{}

func (registryAccounts) List(context.Context) ([]string, error) {
	return nil, fmt.Errorf("ListSecrets: AccessDenied")
}

func (registryAccounts) Accounts(_ context.Context, snap statestore.Snapshot) []string {
	return snap.Registered
}

// TestScheduled_Handle_OneQueryForListAndStates: with an account list that
// comes from the state snapshot (the registry), each handler lists the
// accounts and reads their states with one Load, and never calls List.
func TestScheduled_Handle_OneQueryForListAndStates(t *testing.T) {
	f := newFixture(t, "a", "b")
	states := &registryStates{memStates: newMemStates(), registered: []string{"a", "b"}}
	q := &QuotaCron{Accounts: registryAccounts{}, Tokens: f.tokens, Usage: f.usage, States: states, Logger: quiet}
	res, err := q.Handle(context.Background(), scheduledEvent(t))
	if err != nil || res.OK != 2 || states.loads != 1 {
		t.Errorf("quota-cron: %+v, %v after %d Loads; want 2 ok after 1", res, err, states.loads)
	}
	states.loads = 0
	k := &KeepAlive{Accounts: registryAccounts{}, Stored: f.secrets, Tokens: f.tokens, States: states, Window: 2 * time.Hour, Logger: quiet}
	kres, err := k.Handle(context.Background(), RefreshRequest{})
	if err != nil || kres.Refreshed != 2 || states.loads != 1 {
		t.Errorf("keep-alive: %+v, %v after %d Loads; want 2 refreshed after 1", kres, err, states.loads)
	}
}

// budgetRuns runs q runs times, each with deadline, over n accounts. Every
// run must end within its deadline with each account polled ok or
// deferred, and the first must defer some (else the test does not exercise
// the time budget). It returns the run in which each account was first
// polled ok.
func budgetRuns(t *testing.T, ctx context.Context, q *QuotaCron, n, runs int, deadline time.Duration) map[string]int {
	t.Helper()
	polledIn := map[string]int{}
	for run := 1; run <= runs; run++ {
		rctx, cancel := context.WithTimeout(ctx, deadline)
		start := time.Now()
		res, err := q.Handle(rctx, scheduledEvent(t))
		took := time.Since(start)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if took >= deadline {
			t.Errorf("run %d took %s, past its %s deadline", run, took, deadline)
		}
		if res.Failed != 0 || res.OK+res.Deferred != n {
			t.Errorf("run %d: ok %d, deferred %d, failed %d of %d", run, res.OK, res.Deferred, res.Failed, n)
		}
		if run == 1 && res.Deferred == 0 {
			t.Errorf("run 1 polled all %d accounts: the test does not exercise the time budget", n)
		}
		for _, o := range res.Accounts {
			if _, seen := polledIn[o.Account]; !seen && o.Status == StatusOK {
				polledIn[o.Account] = run
			}
		}
		t.Logf("run %d of %s: %s, ok %d, deferred %d", run, deadline, took.Round(10*time.Millisecond), res.OK, res.Deferred)
	}
	return polledIn
}
