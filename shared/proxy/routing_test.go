package proxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/wire/models"
)

// newTestPool is a pool over store with cfg's defaults and strategy.
func newTestPool(t *testing.T, store *fakeStore, clock func() time.Time, strategy string) *pool {
	t.Helper()
	cfg := &Config{UpstreamURL: "http://127.0.0.1:1/backend-api/codex", Tokens: newFakeTokens(), Keys: &fakeKeys{},
		Accounts: store, States: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), Strategy: strategy}
	if _, err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	p := newPool(cfg)
	if err := p.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustPick picks an account for session with tried excluded.
func mustPick(t *testing.T, p *pool, session string, tried map[string]bool) string {
	t.Helper()
	n, _, err := p.pick(session, tried, nil)
	if err != nil {
		t.Fatalf("pick: %v", err)
	}
	return n
}

func windows(used float64, reset time.Time) quota.Snapshot {
	return quota.Snapshot{FetchedAt: reset.Add(-time.Hour), Windows: []quota.Window{{UsedPercent: used, ResetAt: reset}}}
}

// TestPool_Strategies: each strategy's order among usable accounts, with
// priority (higher first) ordering before every strategy.
func TestPool_Strategies(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	// a: most used, resets last; b: least used, resets in 2 h; c: half
	// used, resets first; d: no quota known.
	states := []AccountState{
		{Account: "a", Quota: windows(80, now.Add(4*time.Hour))},
		{Account: "b", Quota: windows(10, now.Add(2*time.Hour))},
		{Account: "c", Quota: windows(50, now.Add(time.Hour))},
	}
	tests := []struct {
		strategy string
		prio     map[string]int
		want     []string // pick order as each pick is tried in turn
	}{
		{StrategyHeadroom, nil, []string{"d", "b", "c", "a"}},
		{"", nil, []string{"d", "b", "c", "a"}},
		{StrategyFillFirst, nil, []string{"a", "b", "c", "d"}},
		{StrategySoonestReset, nil, []string{"c", "b", "a", "d"}},
		{StrategyHeadroom, map[string]int{"a": 2, "c": 1}, []string{"a", "c", "d", "b"}},
		{StrategyFillFirst, map[string]int{"d": 1, "b": -1}, []string{"d", "a", "c", "b"}},
		{StrategySoonestReset, map[string]int{"a": 5}, []string{"a", "c", "b", "d"}},
	}
	for _, tc := range tests {
		store := &fakeStore{names: []string{"a", "b", "c", "d"}}
		for _, st := range states {
			st.Priority = tc.prio[st.Account]
			store.states = append(store.states, st)
		}
		if tc.prio["d"] != 0 {
			store.setState("d", func(st *AccountState) { st.Priority = tc.prio["d"] })
		}
		p := newTestPool(t, store, clock.Now, tc.strategy)
		tried := map[string]bool{}
		var got []string
		for range 4 {
			n := mustPick(t, p, "", tried)
			got = append(got, n)
			tried[n] = true
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q prio %v: order %v, want %v", tc.strategy, tc.prio, got, tc.want)
		}
	}
}

// TestPool_FillFirst_UntilLimited: fill-first keeps to one account until
// it is limited, then the next; an account with no headroom left is a
// last resort.
func TestPool_FillFirst_UntilLimited(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{names: []string{"a", "b"}}
	p := newTestPool(t, store, clock.Now, StrategyFillFirst)
	for range 3 {
		if n := mustPick(t, p, "", nil); n != "a" {
			t.Fatalf("pick = %s, want a", n)
		}
	}
	p.cooldown(context.Background(), "a", clock.Now().Add(time.Hour), quota.CooldownUsageLimit)
	if n := mustPick(t, p, "", nil); n != "b" {
		t.Fatalf("a limited: pick = %s, want b", n)
	}
	clock.Add(time.Hour + time.Second)
	p.observe("b", quota.Snapshot{FetchedAt: clock.Now(), LimitReached: true})
	if n := mustPick(t, p, "", nil); n != "a" {
		t.Fatalf("a back, b spent: pick = %s, want a", n)
	}
}

// TestPool_Paused: a paused account serves nothing, not even as a probe
// or through affinity, and does not count in the 429 a client gets when
// the others are limited; with every account paused the client gets 503.
func TestPool_Paused(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{names: []string{"a", "b"}, states: []AccountState{{Account: "a", Paused: true, Priority: 9}}}
	p := newTestPool(t, store, clock.Now, StrategyHeadroom)
	for range 3 {
		if n := mustPick(t, p, "conv-1", nil); n != "b" {
			t.Fatalf("pick = %s, want b (a is paused)", n)
		}
	}
	if p.hasOther(map[string]bool{"b": true}, nil) {
		t.Error("hasOther counts the paused account")
	}
	p.cooldown(context.Background(), "b", clock.Now().Add(time.Hour), quota.CooldownUsageLimit)
	if _, _, err := p.pick("", nil, nil); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("b limited, a paused: %v, want the usage-limit 429", err)
	}
	store.setState("b", func(st *AccountState) { st.Paused = true })
	clock.Add(DefaultAccountsRefresh + time.Second)
	p.mu.Lock()
	p.loadedAt = time.Time{} // force the next ensure to wait for a load
	p.mu.Unlock()
	if err := p.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.pick("", nil, nil); err != errNoAccount {
		t.Errorf("all paused: %v, want errNoAccount", err)
	}
}

// TestPool_AffinityWinsWithinPriority: a conversation stays on its account
// while it is usable, even when another now ranks first (priority or
// strategy); it moves only when its account is paused.
func TestPool_AffinityWinsWithinPriority(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{names: []string{"a", "b"}, states: []AccountState{{Account: "a", Paused: true}}}
	p := newTestPool(t, store, clock.Now, StrategyFillFirst)
	if n := mustPick(t, p, "conv", nil); n != "b" {
		t.Fatalf("pick = %s", n)
	}
	// a is resumed with a higher priority: new conversations go to a, the
	// pinned one stays on b.
	p.mu.Lock()
	p.stored["a"] = AccountState{Account: "a", Priority: 5}
	p.mu.Unlock()
	if n := mustPick(t, p, "", nil); n != "a" {
		t.Errorf("new conversation: %s, want a", n)
	}
	if n := mustPick(t, p, "conv", nil); n != "b" {
		t.Errorf("pinned conversation: %s, want b", n)
	}
	p.mu.Lock()
	p.stored["b"] = AccountState{Account: "b", Paused: true}
	p.mu.Unlock()
	if n := mustPick(t, p, "conv", nil); n != "a" {
		t.Errorf("pinned account paused: %s, want a", n)
	}
}

// TestProxy_PauseReachesSecondContainer: a pause written to the table
// reaches a warm container at its next account-list reload (at most
// AccountsRefresh after its last one), with no other store call.
func TestProxy_PauseReachesSecondContainer(t *testing.T) {
	// fill-first: every request goes to a while a is usable.
	h := newHarness(t, []string{"a", "b"}, func(c *Config) { c.Strategy = StrategyFillFirst })
	h2 := newHarness(t, []string{"a", "b"}, func(c *Config) {
		c.Accounts, c.States, c.Clock, c.Strategy = h.store, h.store, h.clock.Now, StrategyFillFirst
	})
	for _, x := range []*harness{h, h2} {
		if status, body := read(t, x.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
			t.Fatalf("%d %s", status, body)
		}
	}
	// The operator pauses a (what `codexgate accounts pause a` writes).
	h.store.mu.Lock()
	h.store.setState("a", func(st *AccountState) { st.Paused = true })
	loadsBefore := h.store.loads
	h.store.mu.Unlock()
	// Within the refresh interval the second container still uses a.
	h.clock.Add(DefaultAccountsRefresh - time.Second)
	read(t, h2.do("POST", "/v1/responses", streamBody, nil))
	if got := h2.up.accounts(); !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("before the reload: %v", got)
	}
	h.clock.Add(time.Second)
	read(t, h2.do("POST", "/v1/responses", streamBody, nil)) // starts the reload
	deadline := time.Now().Add(5 * time.Second)
	for h2.proxy.pool.isLoading() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for range 3 {
		read(t, h2.do("POST", "/v1/responses", streamBody, nil))
	}
	if got := h2.up.accounts()[3:]; !slices.Equal(got, []string{"b", "b", "b"}) {
		t.Errorf("after one reload: %v, want b only", got)
	}
	if _, loads, _ := h.store.calls(); loads != loadsBefore+1 {
		t.Errorf("state loads %d → %d, want exactly one reload", loadsBefore, loads)
	}
}

// TestProxy_PausedSkippedByFailover: a request failing over skips a paused
// account.
func TestProxy_PausedSkippedByFailover(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"})
	h.store.states = []AccountState{{Account: "b", Paused: true}}
	h.up.handle = failing("a", func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
		writeJSONStatus(w, 429, `{"error":{"type":"usage_limit_reached","resets_in_seconds":600}}`)
	})
	if status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if got := h.up.accounts(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("attempts %v, want a then c (b paused)", got)
	}
}

// upstreamModel is the model and reasoning effort of a recorded request.
func upstreamModel(t *testing.T, rec upstreamRecord) (model, effort, summary string) {
	t.Helper()
	var body struct {
		Model     string `json:"model"`
		Reasoning *struct {
			Effort  string `json:"effort"`
			Summary string `json:"summary"`
		} `json:"reasoning"`
	}
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		t.Fatalf("upstream body %s: %v", rec.Body, err)
	}
	if body.Reasoning != nil {
		return body.Model, body.Reasoning.Effort, body.Reasoning.Summary
	}
	return body.Model, "", ""
}

// TestProxy_EffortSuffixesAndAliases: on every front a known model's
// effort suffix is sent as the model with reasoning.effort (winning over
// the body's effort on Responses and Chat Completions), an alias as its
// target, and any other name unchanged.
func TestProxy_EffortSuffixesAndAliases(t *testing.T) {
	aliases, err := models.ParseAliases("fast=gpt-5.1-codex-mini:low,Deep=gpt-5.1-codex-max")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, []string{"a"}, func(c *Config) { c.ModelNames = aliases })
	responses := func(model, reasoning string) string {
		return `{"model":"` + model + `","instructions":"x","input":[],"stream":true,"store":false` + reasoning + `}`
	}
	chatBody := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}`
	}
	msgBody := func(model string) string {
		return `{"model":"` + model + `","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	}
	tests := []struct {
		name, path, body               string
		wantModel, wantEffort, summary string
	}{
		{"responses suffix", "/v1/responses", responses("gpt-5.1-codex-high", `,"reasoning":{"effort":"low","summary":"auto"}`), "gpt-5.1-codex", "high", "auto"},
		{"responses suffix, no reasoning", "/v1/responses", responses("gpt-5-codex-minimal", ""), "gpt-5-codex", "minimal", ""},
		{"responses xhigh", "/v1/responses", responses("gpt-5.1-codex-max-xhigh", ""), "gpt-5.1-codex-max", "xhigh", ""},
		{"responses unknown effort passes", "/v1/responses", responses("gpt-5.1-codex-ultra", ""), "gpt-5.1-codex-ultra", "", ""},
		{"responses unknown model passes", "/v1/responses", responses("my-model-high", `,"reasoning":{"effort":"low"}`), "my-model-high", "low", ""},
		{"responses plain", "/v1/responses", responses("gpt-5.1-codex-mini", `,"reasoning":{"effort":"low"}`), "gpt-5.1-codex-mini", "low", ""},
		{"responses alias", "/v1/responses", responses("FAST", ""), "gpt-5.1-codex-mini", "low", ""},
		{"responses alias without effort", "/v1/responses", responses("deep", `,"reasoning":{"effort":"medium"}`), "gpt-5.1-codex-max", "medium", ""},
		{"chat suffix", "/v1/chat/completions", chatBody("gpt-5.1-codex-mini-high"), "gpt-5.1-codex-mini", "high", "auto"},
		{"chat alias", "/v1/chat/completions", chatBody("fast"), "gpt-5.1-codex-mini", "low", "auto"},
		{"chat unknown passes", "/v1/chat/completions", chatBody("gpt-9-high"), "gpt-9-high", "low", "auto"},
		{"messages suffix", "/v1/messages", msgBody("gpt-5.1-codex-xhigh"), "gpt-5.1-codex", "xhigh", ""},
		{"messages alias", "/v1/messages", msgBody("fast"), "gpt-5.1-codex-mini", "low", ""},
		{"messages claude mapping unchanged", "/v1/messages", msgBody("claude-opus-4-1"), "gpt-5.1-codex", "high", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.up.mu.Lock()
			h.up.reqs = nil
			h.up.mu.Unlock()
			if status, body := read(t, h.do("POST", tc.path, tc.body, http.Header{"Anthropic-Version": {"2023-06-01"}})); status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			reqs := h.up.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d upstream requests", len(reqs))
			}
			model, effort, summary := upstreamModel(t, reqs[0])
			if model != tc.wantModel || effort != tc.wantEffort || summary != tc.summary {
				t.Errorf("upstream model %q effort %q summary %q, want %q %q %q", model, effort, summary, tc.wantModel, tc.wantEffort, tc.summary)
			}
		})
	}
}

// TestProxy_ModelsListsSuffixesAndAliases: GET /v1/models keeps the
// backend's models first, then lists each one's suffixed names and the
// aliases whose model it lists; a model it lists becomes known, so its
// suffix resolves afterwards.
func TestProxy_ModelsListsSuffixesAndAliases(t *testing.T) {
	aliases, err := models.ParseAliases("fast=gpt-7-codex:low,gone=gpt-4:high")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, []string{"a"}, func(c *Config) { c.ModelNames = aliases })
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		if r.URL.Path == "/backend-api/codex/models" {
			writeJSONStatus(w, 200, `{"models":[{"slug":"gpt-7-codex","supported_reasoning_levels":[{"effort":"medium"},{"effort":"high"}]},{"slug":"gpt-7-nano"}]}`)
			return
		}
		serveCompleted(w, r, rec)
	}
	// Before any list, gpt-7-nano is unknown: the name passes through.
	read(t, h.do("POST", "/v1/responses", `{"model":"gpt-7-nano-high","instructions":"x","input":[]}`, nil))
	status, body := read(t, h.do("GET", "/v1/models", "", nil))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var doc struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
		Models []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range doc.Data {
		ids = append(ids, m.ID)
	}
	want := []string{"gpt-7-codex", "gpt-7-nano", "gpt-7-codex-medium", "gpt-7-codex-high",
		"gpt-7-nano-minimal", "gpt-7-nano-low", "gpt-7-nano-medium", "gpt-7-nano-high", "gpt-7-nano-xhigh", "fast"}
	if doc.Object != "list" || !slices.Equal(ids, want) || len(doc.Models) != 2 {
		t.Errorf("object %q, ids %v (want %v), %d Codex models", doc.Object, ids, want, len(doc.Models))
	}
	read(t, h.do("POST", "/v1/responses", `{"model":"gpt-7-nano-high","instructions":"x","input":[]}`, nil))
	reqs := h.up.requests()
	if m, e, _ := upstreamModel(t, reqs[0]); m != "gpt-7-nano-high" || e != "" {
		t.Errorf("before the list: %q %q, want the name unchanged", m, e)
	}
	if m, e, _ := upstreamModel(t, reqs[len(reqs)-1]); m != "gpt-7-nano" || e != "high" {
		t.Errorf("after the list: %q %q, want gpt-7-nano at high", m, e)
	}
}

// TestStrategies_MatchConfig: shared/config validates
// CODEXGATE_ROUTING_STRATEGY against its own list (it does not import the
// proxy); the two lists must agree.
func TestStrategies_MatchConfig(t *testing.T) {
	if !slices.Equal(config.RoutingStrategies, Strategies) {
		t.Errorf("config.RoutingStrategies %v, proxy.Strategies %v", config.RoutingStrategies, Strategies)
	}
	if err := ValidStrategy("round-robin"); err == nil {
		t.Error("ValidStrategy accepted round-robin")
	}
	if _, err := New(Config{UpstreamURL: "http://127.0.0.1:1/x", Tokens: newFakeTokens(), Keys: &fakeKeys{}, Accounts: &fakeStore{}, Strategy: "nope"}); err == nil {
		t.Error("New accepted a bad strategy")
	}
}
