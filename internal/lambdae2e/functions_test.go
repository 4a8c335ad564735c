//go:build linux

package lambdae2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/scheduled"
	"github.com/codexgate/codexgate/shared/statestore"
)

// world is one isolated stack (simworld: a table, a secret prefix and a
// simulator) and the environment a bootstrap needs to use it.
type world struct {
	*simworld.World
	t      *testing.T
	states *statestore.Store
	env    []string
}

func newWorld(t *testing.T, accessTTL time.Duration) *world {
	t.Helper()
	w := &world{World: simworld.New(t, openaisim.Options{AccessTTL: accessTTL}), t: t}
	w.states = statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table)
	w.env = []string{
		"CODEXGATE_TABLE=" + w.Table,
		"CODEXGATE_SECRET_PREFIX=" + w.Prefix,
		"CODEXGATE_TOKEN_URL=" + w.TokenURL(),
		"CODEXGATE_USAGE_URL=" + w.UsageURL(),
		"CODEXGATE_UPSTREAM_URL=" + w.URL + "/backend-api/codex",
		"CODEXGATE_REFRESH_WINDOW=2h",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60",
		"AWS_REGION=" + w.AWS.Region,
	}
	// The bootstrap reads credentials from the environment; the stack script
	// sets dummy ones, a bare AWS_ENDPOINT_URL may not.
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		w.env = append(w.env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	return w
}

func (w *world) load() statestore.Snapshot {
	w.t.Helper()
	snap, err := w.states.Load(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return snap
}

func (w *world) current(name string) codex.Version {
	w.t.Helper()
	v, err := w.Secrets.LoadCurrent(context.Background(), name)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

func fixture(t *testing.T, function string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testsupport.RepoRoot(t), "functions", function, "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQuotaCron_RIE(t *testing.T) {
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "quota-cron")
	w.Login(t, "alpha", "id-alpha", 0)
	w.Login(t, "bravo", "id-bravo", 0)
	w.Sim.SwapUsageWindows(true)
	_ = w.Sim.SetUsage("id-alpha", 25, 75)
	reset := time.Now().Add(90 * time.Minute).Truncate(time.Second)
	_ = w.Sim.SetUsageLimit("id-bravo", reset)

	fn := startLambda(t, bin, boot, w.env)
	var res scheduled.QuotaResult
	if err := json.Unmarshal(fn.invoke(fixture(t, "quota-cron")), &res); err != nil {
		t.Fatal(err)
	}
	if res.OK != 1 || res.Limited != 1 || res.Failed != 0 || len(res.Accounts) != 2 {
		t.Fatalf("result = %+v", res)
	}
	snap := w.load()
	byKind := map[string]float64{}
	for _, win := range snap.Quotas["alpha"].Windows {
		byKind[win.Kind] = win.UsedPercent
	}
	if snap.Quotas["alpha"].Plan != "plus" || byKind[quota.Kind5h] != 25 || byKind[quota.KindWeekly] != 75 {
		t.Errorf("alpha snapshot = %+v", snap.Quotas["alpha"])
	}
	if st := snap.States["bravo"]; st.CooldownReason != quota.CooldownUsageLimit || !st.CooldownUntil.Equal(reset) {
		t.Errorf("bravo state = %+v, want cooldown until %v", st, reset)
	}
	// By default the run's metrics are deployment counters, no metric per
	// account (docs/DESIGN.md §8.6).
	if !fn.logged(`"_aws"`) || !fn.logged(`"AccountsLimited":1`) || fn.logged(`"UsedPercent"`) {
		t.Errorf("want one EMF line of deployment counters (AccountsLimited 1) and no UsedPercent in the function's output")
	}

	// A second scheduled run in the same (warm) container, quota back.
	_ = w.Sim.ClearUsageLimit("id-bravo")
	if err := json.Unmarshal(fn.invoke(fixture(t, "quota-cron")), &res); err != nil {
		t.Fatal(err)
	}
	if res.OK != 2 || w.load().States["bravo"].CooldownUntil.After(time.Now()) {
		t.Errorf("after reset: %+v, state %+v", res, w.load().States["bravo"])
	}

	// CODEXGATE_DETAILED_METRICS adds the per-account metrics.
	detailed := startLambda(t, bin, boot, append(slices.Clone(w.env), "CODEXGATE_DETAILED_METRICS=true"))
	if err := json.Unmarshal(detailed.invoke(fixture(t, "quota-cron")), &res); err != nil {
		t.Fatal(err)
	}
	if !detailed.logged(`"Account":"alpha","UsedPercent":25`) || !detailed.logged(`"Account":"bravo","LimitReached":0`) {
		t.Errorf("no per-account EMF lines with CODEXGATE_DETAILED_METRICS=true")
	}
}

func TestRefresh_RIE(t *testing.T) {
	bin := findRIE(t)
	w := newWorld(t, 4*time.Hour)
	boot := bootstrap(t, "refresh")
	w.Login(t, "due", "id-due", 3*time.Hour) // expires in 1 h: inside the 2 h window
	w.Login(t, "work", "id-work", 0)         // the manual fixture's account; expires in 4 h
	dueBefore, workBefore := w.current("due"), w.current("work")

	fn := startLambda(t, bin, boot, w.env)
	// A schedule without Input delivers the EventBridge event itself.
	var res scheduled.RefreshResult
	if err := json.Unmarshal(fn.invoke(fixture(t, "quota-cron")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Refreshed != 1 || res.NotDue != 1 || res.Failed != 0 {
		t.Fatalf("scheduled run: %+v", res)
	}
	if after := w.current("due"); after.ID == dueBefore.ID || after.Auth.Token.Refresh == dueBefore.Auth.Token.Refresh {
		t.Error("due: secret not rotated")
	}
	if w.current("work").ID != workBefore.ID {
		t.Error("work: rotated though not due")
	}

	// The manual payload: {"account":"work","force":true}.
	if err := json.Unmarshal(fn.invoke(fixture(t, "refresh")), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Accounts) != 1 || res.Accounts[0].Account != "work" || res.Accounts[0].Status != scheduled.StatusRefreshed {
		t.Fatalf("manual run: %+v", res)
	}
	after := w.current("work")
	if after.ID == workBefore.ID || after.Auth.Token.Refresh == workBefore.Auth.Token.Refresh {
		t.Error("work: secret not rotated by the forced refresh")
	}
	if st := w.Sim.Stats(); st.Refreshes != 2 || st.ReuseRejections != 0 {
		t.Errorf("simulator: %d refreshes, %d reuse rejections; want 2 and 0", st.Refreshes, st.ReuseRejections)
	}
	if !fn.logged(`"RefreshFailures":0`) {
		t.Error("no EMF RefreshFailures line in the function's output")
	}
}
