package awsstores

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

type fakeLookup map[string]statestore.APIKey

func (f fakeLookup) LookupKey(_ context.Context, key string) (statestore.APIKey, error) {
	if key == "cgk_broken" {
		return statestore.APIKey{}, errors.New("dynamodb: throttled")
	}
	k, ok := f[key]
	if !ok {
		return statestore.APIKey{}, statestore.ErrKeyNotFound
	}
	return k, nil
}

func TestKeys_VerifyKey(t *testing.T) {
	k := Keys{Store: fakeLookup{"cgk_good": {Name: "laptop"}}}
	tests := []struct {
		key      string
		wantName string
		wantErr  error
		wantAny  bool
	}{
		{"cgk_good", "laptop", nil, false},
		{"cgk_unknown", "", proxy.ErrInvalidKey, false},
		{"cgk_broken", "", nil, true},
	}
	for _, tt := range tests {
		name, err := k.VerifyKey(context.Background(), tt.key)
		switch {
		case tt.wantAny && (err == nil || errors.Is(err, proxy.ErrInvalidKey)):
			t.Errorf("%s: err = %v, want a store error", tt.key, err)
		case !tt.wantAny && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: err = %v, want %v", tt.key, err, tt.wantErr)
		case name != tt.wantName:
			t.Errorf("%s: name = %q", tt.key, name)
		}
	}
}

func TestKeys_VerifyKeyInfo_Budgets(t *testing.T) {
	k := Keys{Store: fakeLookup{"cgk_good": {Name: "intern", DailyTokens: 100, WeeklyTokens: 500}, "cgk_free": {Name: "boss"}}}
	if info, err := k.VerifyKeyInfo(context.Background(), "cgk_good"); err != nil || info.Name != "intern" || info.Budget != (metering.KeyBudget{Daily: 100, Weekly: 500}) {
		t.Errorf("VerifyKeyInfo = %+v, %v; want intern, {100 500}", info, err)
	}
	if info, err := k.VerifyKeyInfo(context.Background(), "cgk_free"); err != nil || info.Budget != (metering.KeyBudget{}) {
		t.Errorf("no budget: %+v, %v", info.Budget, err)
	}
	if name, err := k.VerifyKey(context.Background(), "cgk_unknown"); !errors.Is(err, proxy.ErrInvalidKey) || name != "" {
		t.Errorf("unknown key: %q %v", name, err)
	}
}

func TestKeys_VerifyKeyInfo(t *testing.T) {
	k := Keys{Store: fakeLookup{"cgk_good": {Name: "team", DailyTokens: 7, Models: []string{"gpt-5.5"}, Accounts: []string{"work", "home"}, MaxConcurrent: 3}}}
	info, err := k.VerifyKeyInfo(context.Background(), "cgk_good")
	want := proxy.KeyInfo{Name: "team", Budget: metering.KeyBudget{Daily: 7}, Models: []string{"gpt-5.5"}, Accounts: []string{"work", "home"}, MaxConcurrent: 3}
	if err != nil || info.Name != want.Name || info.Budget != want.Budget || !slices.Equal(info.Models, want.Models) ||
		!slices.Equal(info.Accounts, want.Accounts) || info.MaxConcurrent != want.MaxConcurrent {
		t.Errorf("VerifyKeyInfo = %+v, %v; want %+v", info, err, want)
	}
	if _, err := k.VerifyKeyInfo(context.Background(), "cgk_unknown"); !errors.Is(err, proxy.ErrInvalidKey) {
		t.Errorf("unknown key: %v", err)
	}
}

type fakeStates struct {
	snap      statestore.Snapshot
	cooldowns []string
}

func (f *fakeStates) Load(context.Context) (statestore.Snapshot, error) { return f.snap, nil }

func (f *fakeStates) SetCooldown(_ context.Context, account string, until time.Time, reason string) error {
	f.cooldowns = append(f.cooldowns, account+" "+reason+" "+until.UTC().Format(time.RFC3339))
	return nil
}

func (f *fakeStates) SetUnauthorized(_ context.Context, account string, until time.Time, strikes int, version string) error {
	f.cooldowns = append(f.cooldowns, fmt.Sprintf("%s unauthorized %s strikes=%d version=%s", account, until.UTC().Format(time.RFC3339), strikes, version))
	return nil
}

func (f *fakeStates) ClearUnauthorized(_ context.Context, account string) error {
	f.cooldowns = append(f.cooldowns, account+" cleared")
	return nil
}

func TestStates_AccountStates(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &fakeStates{snap: statestore.Snapshot{
		States: map[string]statestore.AccountState{
			"a": {Account: "a", Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused"},
			"b": {Account: "b", Status: statestore.StatusOK, CooldownUntil: now.Add(time.Hour), CooldownReason: quota.CooldownUsageLimit},
		},
		Quotas: map[string]statestore.QuotaSnapshot{
			"b": {Account: "b", Snapshot: quota.Snapshot{LimitReached: true, FetchedAt: now, Windows: []quota.Window{
				{Kind: quota.Kind5h, UsedPercent: 100, WindowSeconds: 18000, ResetAt: now.Add(time.Hour)},
				{Kind: quota.KindWeekly, UsedPercent: 40, WindowSeconds: 604800, ResetAt: now.Add(72 * time.Hour)},
			}}},
			"c": {Account: "c", Snapshot: quota.Snapshot{FetchedAt: now, Windows: []quota.Window{{UsedPercent: 12}}}},
		},
	}}
	got, err := States{Store: f}.AccountStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y proxy.AccountState) int { return strings.Compare(x.Account, y.Account) })
	if len(got) != 3 {
		t.Fatalf("states = %+v", got)
	}
	if !got[0].ReauthRequired || got[0].Quota.FetchedAt != (time.Time{}) {
		t.Errorf("a = %+v", got[0])
	}
	b := got[1]
	if b.ReauthRequired || !b.CooldownUntil.Equal(now.Add(time.Hour)) || b.CooldownReason != quota.CooldownUsageLimit ||
		!b.Quota.LimitReached || len(b.Quota.Windows) != 2 || b.Quota.Windows[1].UsedPercent != 40 {
		t.Errorf("b = %+v", b)
	}
	if c := got[2]; c.ReauthRequired || len(c.Quota.Windows) != 1 || c.Quota.Windows[0].UsedPercent != 12 {
		t.Errorf("c = %+v", c)
	}
	if err := (States{Store: f}).SetCooldown(context.Background(), "c", now, "unauthorized"); err != nil || len(f.cooldowns) != 1 {
		t.Errorf("SetCooldown: %v %v", err, f.cooldowns)
	}
}

type fakeAdder struct {
	now       time.Time
	d         statestore.UsageDelta
	retention time.Duration
	err       error
}

func (f *fakeAdder) AddUsage(_ context.Context, now time.Time, d statestore.UsageDelta, retention time.Duration) error {
	f.now, f.d, f.retention = now, d, retention
	return f.err
}

func TestUsage_RecordUsage(t *testing.T) {
	var emf strings.Builder
	at := time.Date(2026, 5, 1, 23, 59, 59, 0, time.UTC)
	store := &fakeAdder{err: errors.New("dynamodb: throttled")}
	u := Usage{Store: store, Metrics: metrics.New(&emf).WithClock(func() time.Time { return at }), Retention: 48 * time.Hour, ByKey: true}
	// Three requests summed by the proxy between two flushes.
	rec := metering.Record{Time: at, Key: "alice", Account: "kim", Requests: 3,
		Usage: metering.Usage{Model: "gpt-5-codex", InputTokens: 300, CachedTokens: 150, OutputTokens: 40, ReasoningTokens: 12}}
	if err := u.RecordUsage(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("err = %v, want the store's", err)
	}
	want := statestore.UsageDelta{Key: "alice", Account: "kim", Model: "gpt-5-codex", Requests: 3, InputTokens: 300, CachedTokens: 150, OutputTokens: 40, ReasoningTokens: 12}
	if store.d != want || !store.now.Equal(at) || store.retention != 48*time.Hour {
		t.Errorf("AddUsage(%v, %+v, %v), want (%v, %+v, 48h)", store.now, store.d, store.retention, at, want)
	}
	// A failed write emits nothing: the proxy retries it at its next flush,
	// and the metrics add up to what the table holds.
	if emf.Len() != 0 {
		t.Errorf("EMF after a failed write: %s", emf.String())
	}
	store.err = nil
	if err := u.RecordUsage(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	line := emf.String()
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one EMF line: %q", line)
	}
	for _, s := range []string{`"Key":"alice"`, `"Dimensions":[["Key"]]`, `"Requests":3`, `"InputTokens":300`, `"CachedInputTokens":150`, `"OutputTokens":40`, `"ReasoningTokens":12`} {
		if !strings.Contains(line, s) {
			t.Errorf("EMF line lacks %s: %s", s, line)
		}
	}
	// Without ByKey (the default) the line has no dimension: the
	// deployment's totals, five metrics however many keys are active.
	emf.Reset()
	u.ByKey = false
	if err := u.RecordUsage(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if line := emf.String(); strings.Contains(line, "alice") || !strings.Contains(line, `"Dimensions":[[]]`) || !strings.Contains(line, `"Requests":3`) {
		t.Errorf("EMF line without ByKey: %s", line)
	}
	// Without a metrics writer nothing is emitted and the write still happens.
	if err := (Usage{Store: store}).RecordUsage(context.Background(), rec); err != nil {
		t.Error(err)
	}
}

// gatedStates is a StateAPI whose Load counts its calls and waits for gate.
type gatedStates struct {
	fakeStates
	gate  chan struct{}
	loads atomic.Int32
}

func (g *gatedStates) Load(ctx context.Context) (statestore.Snapshot, error) {
	g.loads.Add(1)
	<-g.gate
	return statestore.Snapshot{Registered: []string{"a", "b"}, Backfilled: true}, nil
}

// TestSharedLoad_Load_OneQueryForListAndStates: the pool's concurrent
// account list and states come from one Load; a later Load reads again.
func TestSharedLoad_Load_OneQueryForListAndStates(t *testing.T) {
	g := &gatedStates{gate: make(chan struct{})}
	shared := &SharedLoad{StateAPI: g}
	acc := Accounts{Load: shared}
	ctx := context.Background()
	var wg sync.WaitGroup
	var names []string
	var listErr, statesErr error
	wg.Go(func() { names, listErr = acc.List(ctx) })
	wg.Go(func() { _, statesErr = States{Store: shared}.AccountStates(ctx) })
	for g.loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the second caller joins the Load in flight
	close(g.gate)
	wg.Wait()
	if listErr != nil || statesErr != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("List = %v, %v; AccountStates err %v", names, listErr, statesErr)
	}
	if n := g.loads.Load(); n != 1 {
		t.Errorf("%d Loads for one list and its states, want 1", n)
	}
	if _, err := acc.List(ctx); err != nil || g.loads.Load() != 2 {
		t.Errorf("a later List: %v, %d Loads in all, want 2", err, g.loads.Load())
	}
}
