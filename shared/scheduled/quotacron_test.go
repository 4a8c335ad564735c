package scheduled

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

func scheduledEvent(t *testing.T) events.EventBridgeEvent {
	t.Helper()
	raw, err := os.ReadFile("../../functions/quota-cron/event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		t.Fatalf("fixture is not a scheduled event: %+v", ev)
	}
	return ev
}

func TestQuotaCron_Handle_Outcomes(t *testing.T) {
	f := newFixture(t, "ok", "swapped", "limited", "expired", "dead", "marked", "broken")
	sim := f.sim
	_ = sim.SetUsage("id-ok", 12, 34)
	_ = sim.SetUsage("id-swapped", 56, 78)
	reset := time.Now().Add(3 * time.Hour).Truncate(time.Second)
	_ = sim.SetUsageLimit("id-limited", reset)
	_ = sim.ExpireAccessTokens("id-expired")
	f.revoke("dead")
	f.fail("broken", errBoom)
	states := newMemStates()
	states.states["marked"] = marked
	var emf bytes.Buffer
	q := &QuotaCron{
		Accounts: names("ok", "swapped", "limited", "expired", "dead", "marked", "broken"),
		Tokens:   f.tokens, Usage: f.usage, States: states, Metrics: metrics.New(&emf), Concurrency: 3, Logger: quiet,
		PerAccountMetrics: true,
	}
	res, err := q.Handle(context.Background(), scheduledEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ok": StatusOK, "swapped": StatusOK, "limited": StatusLimited, "expired": StatusOK,
		"dead": StatusReauthRequired, "marked": StatusReauthRequired, "broken": StatusError,
	}
	for _, o := range res.Accounts {
		if o.Status != want[o.Account] {
			t.Errorf("%s: status %q (%s), want %q", o.Account, o.Status, o.Error, want[o.Account])
		}
	}
	if res.OK != 3 || res.Limited != 1 || res.Reauth != 2 || res.Failed != 1 {
		t.Errorf("counts = %+v", res)
	}
	if c := f.tokens.calls(); strings.Contains(strings.Join(c, ","), "marked") {
		t.Errorf("reauth_required account asked for a token: %v", c)
	}
	if o := outcome(res, "expired"); !o.Refreshed {
		t.Errorf("expired: want a forced refresh after the 401, got %+v", o)
	}
	if got := states.state("limited"); got.CooldownReason != quota.CooldownUsageLimit || !got.CooldownUntil.Equal(reset) {
		t.Errorf("limited: state %+v, want cooldown until %v", got, reset)
	}
	if _, ok := states.quotas["broken"]; ok {
		t.Error("a snapshot was stored for a failing account")
	}
	checkWindows(t, states.quotas["ok"], 12, 34)

	// The JSON result is what Lambda returns: it must round-trip.
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"status":"limited"`) {
		t.Errorf("marshal result: %s, %v", b, err)
	}
	if !strings.Contains(emf.String(), `"Account":"ok","UsedPercent":12,"Window":"5h"`) ||
		!strings.Contains(emf.String(), `"Account":"limited","LimitReached":1`) ||
		!strings.Contains(emf.String(), `"AccountsLimited":1,"QuotaFailures":1,"ReauthRequired":2,"Refreshes":1`) {
		t.Errorf("EMF lines:\n%s", emf.String())
	}
	for _, tok := range f.issued {
		if strings.Contains(emf.String(), tok) || strings.Contains(string(b), tok) {
			t.Fatal("a token leaked into metrics or the result")
		}
	}
}

func TestQuotaCron_Handle_SwappedAndCooldownLifted(t *testing.T) {
	f := newFixture(t, "a")
	f.sim.SwapUsageWindows(true)
	_ = f.sim.SetUsage("id-a", 20, 90)
	states := newMemStates()
	states.states["a"] = statestore.AccountState{CooldownUntil: time.Now().Add(time.Hour), CooldownReason: quota.CooldownUsageLimit}
	q := &QuotaCron{Accounts: names("a"), Tokens: f.tokens, Usage: f.usage, States: states, Logger: quiet}
	res, err := q.Handle(context.Background(), events.EventBridgeEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if o := outcome(res, "a"); o.Status != StatusOK || !o.CooldownCleared {
		t.Errorf("outcome = %+v, want ok with cooldown cleared", o)
	}
	if st := states.state("a"); !st.CooldownUntil.IsZero() {
		t.Errorf("cooldown still set: %+v", st)
	}
	checkWindows(t, states.quotas["a"], 20, 90)

	// A cooldown the proxy set for another reason is not lifted.
	states.states["a"] = statestore.AccountState{CooldownUntil: time.Now().Add(time.Hour), CooldownReason: "unauthorized"}
	if res, _ = q.Handle(context.Background(), events.EventBridgeEvent{}); outcome(res, "a").CooldownCleared {
		t.Errorf("an unauthorized cooldown was lifted: %+v", res)
	}
}

func TestQuotaCron_Handle_StoreAndListErrors(t *testing.T) {
	f := newFixture(t, "a")
	states := newMemStates()
	states.err = errBoom
	q := &QuotaCron{Accounts: names("a"), Tokens: f.tokens, Usage: f.usage, States: states, Logger: quiet}
	res, err := q.Handle(context.Background(), events.EventBridgeEvent{})
	if err != nil || res.Failed != 1 || !strings.Contains(outcome(res, "a").Error, "store quota snapshot") {
		t.Errorf("store failure: %+v, %v", res, err)
	}
	q.Accounts = listFunc(func(context.Context) ([]string, error) { return nil, errBoom })
	if _, err := q.Handle(context.Background(), events.EventBridgeEvent{}); err == nil {
		t.Error("want an error when accounts cannot be listed")
	}
}

func outcome(res QuotaResult, account string) QuotaOutcome {
	for _, o := range res.Accounts {
		if o.Account == account {
			return o
		}
	}
	return QuotaOutcome{}
}

// checkWindows asserts the 5h and weekly used percentages of a snapshot.
func checkWindows(t *testing.T, s statestore.QuotaSnapshot, fiveHour, weekly float64) {
	t.Helper()
	got := map[string]float64{}
	for _, w := range s.Windows {
		got[w.Kind] = w.UsedPercent
	}
	if len(got) != 2 || got[quota.Kind5h] != fiveHour || got[quota.KindWeekly] != weekly {
		t.Errorf("windows = %+v, want 5h=%v weekly=%v", s.Windows, fiveHour, weekly)
	}
}

// By default (no PerAccountMetrics) a run emits one line of deployment
// counters, whatever the number of accounts: no custom metric per account,
// so an idle account costs its secret and no metric.
func TestQuotaCron_Handle_NoPerAccountMetricsByDefault(t *testing.T) {
	f := newFixture(t, "a", "b", "limited")
	_ = f.sim.SetUsageLimit("id-limited", time.Now().Add(time.Hour))
	var emf bytes.Buffer
	q := &QuotaCron{Accounts: names("a", "b", "limited"), Tokens: f.tokens, Usage: f.usage, States: newMemStates(),
		Metrics: metrics.New(&emf), Logger: quiet}
	if _, err := q.Handle(context.Background(), scheduledEvent(t)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(emf.String()), "\n")
	if len(lines) != 1 || strings.Contains(emf.String(), `"Account"`) || strings.Contains(emf.String(), "UsedPercent") {
		t.Fatalf("EMF without PerAccountMetrics, want one dimensionless line:\n%s", emf.String())
	}
	if !strings.Contains(lines[0], `"AccountsLimited":1,`) || !strings.Contains(lines[0], `"Dimensions":[[]]`) {
		t.Errorf("EMF line: %s", lines[0])
	}
}
