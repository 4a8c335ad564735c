package proxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testclock"
	"github.com/codexgate/codexgate/shared/metering"
)

// usageBudgets is a BudgetSource over a usageLog: the "table" is every
// record of every container sharing the log.
type usageBudgets struct {
	log   *usageLog
	now   func() time.Time // the proxy's clock
	limit metering.KeyBudget
	loads atomic.Int64 // of today's use
	reads atomic.Int64 // of any day
}

func (b *usageBudgets) TokensOn(_ context.Context, name string, day time.Time) (int64, error) {
	b.reads.Add(1)
	var used int64
	for _, r := range b.log.records() {
		if r.Key == name && r.Time.UTC().Format(time.DateOnly) == day.UTC().Format(time.DateOnly) {
			used += r.InputTokens + r.OutputTokens
		}
	}
	// Today is read last in a load: the load is in once that read is.
	if day.UTC().Format(time.DateOnly) == b.now().UTC().Format(time.DateOnly) {
		b.loads.Add(1)
	}
	return used, nil
}

// VerifyKey and VerifyKeyInfo: testKey is "sim", with the budget.
func (b *usageBudgets) VerifyKey(ctx context.Context, key string) (string, error) {
	info, err := b.VerifyKeyInfo(ctx, key)
	return info.Name, err
}

func (b *usageBudgets) VerifyKeyInfo(_ context.Context, key string) (KeyInfo, error) {
	if key != testKey {
		return KeyInfo{}, ErrInvalidKey
	}
	return KeyInfo{Name: "sim", Budget: b.limit}, nil
}

// refusals is a BudgetEvents that keeps what it heard.
type refusals struct {
	mu   sync.Mutex
	seen []string // "key budget"
}

func (r *refusals) BudgetRefused(key, budget string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, key+" "+budget)
}

func (r *refusals) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func budgetHarness(t *testing.T, limit metering.KeyBudget, clock *testclock.Clock) (*simHarness, *usageBudgets, *refusals) {
	src := &usageBudgets{limit: limit, now: time.Now}
	events := &refusals{}
	h := newSimHarnessWith(t, func(c *Config) {
		c.Budgets = src
		c.Keys = src
		c.BudgetEvents = events
		c.BudgetRefresh = time.Nanosecond // every check reloads (in the background)
		if clock != nil {
			c.Clock = clock.Now
			src.now = clock.Now
		}
	}, "acct-a")
	src.log = h.usage
	return h, src, events
}

// waitLoads waits until the budget source was read n times and the load
// finished (the next check sees it).
func waitLoads(t *testing.T, src *usageBudgets, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for src.loads.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("budget read %d times, want %d", src.loads.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the load's bookkeeping after the read
}

func TestProxy_Budget_RefusedInEachFrontsShape(t *testing.T) {
	day := time.Date(2026, 5, 1, 23, 0, 0, 0, time.UTC)
	clock := testclock.New(day)
	h, src, events := budgetHarness(t, metering.KeyBudget{Daily: 1}, clock) // any turn spends the budget
	resp, body := h.post("/v1/responses", simBody, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request (before any budget load): %d %s", resp.StatusCode, body)
	}
	h.usage.waitRecords(t, 1)
	waitLoads(t, src, 1)

	midnight := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ path, body string }{
		{"/v1/responses", simBody},
		{"/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}],"stream":true}`},
	} {
		resp, body := h.post(tc.path, tc.body, nil)
		var doc struct {
			Error struct {
				Type, Code, Message string
				ResetsAt            int64 `json:"resets_at"`
			}
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != http.StatusTooManyRequests ||
			doc.Error.Type != "insufficient_quota" || doc.Error.Code != "insufficient_quota" || doc.Error.ResetsAt != midnight.Unix() ||
			!strings.Contains(doc.Error.Message, "2026-05-02T00:00:00Z") || resp.Header.Get("Retry-After") != "3600" {
			t.Errorf("%s over budget: %d %v %s", tc.path, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body = h.post("/v1/messages", messagesBody(true, ""), nil)
	if typ, msg := anthropicError(t, body); resp.StatusCode != http.StatusTooManyRequests || typ != "rate_limit_error" || !strings.Contains(msg, "daily budget") {
		t.Errorf("messages over budget: %d %s", resp.StatusCode, body)
	}
	h.usage.waitRecords(t, 1)
	if n := len(h.usage.records()); n != 1 {
		t.Errorf("%d usage records, want only the first request's", n)
	}
	if got := events.list(); len(got) != 3 || got[0] != "sim daily" || got[1] != "sim daily" || got[2] != "sim daily" {
		t.Errorf("refusal events %q, want one \"sim daily\" per refused request (3)", got)
	}

	// A new day (UTC) starts from zero.
	clock.Set(midnight.Add(time.Second))
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after midnight: %d %s", resp.StatusCode, body)
	}
}

func TestProxy_Budget_StormOvershootBound(t *testing.T) {
	const perTurnProbe = 1
	h0, _, _ := budgetHarness(t, metering.KeyBudget{}, nil)
	h0.post("/v1/responses", simBody, nil)
	rec := h0.usage.waitRecords(t, perTurnProbe)
	turn := rec[0].InputTokens + rec[0].OutputTokens // every turn below costs this

	const limit, clients, perClient = 1000, 8, 20
	h, src, _ := budgetHarness(t, metering.KeyBudget{Daily: limit}, nil)
	h.post("/v1/responses", simBody, nil) // the first load
	h.usage.waitRecords(t, 1)
	waitLoads(t, src, 1)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				resp, body := h.post("/v1/responses", simBody, nil)
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("%d %s", resp.StatusCode, body)
				}
			}
		}()
	}
	wg.Wait()
	recs := h.usage.waitRecords(t, ok.Load()+1)
	var used int64
	for _, r := range recs {
		used += r.InputTokens + r.OutputTokens
	}
	overshoot := used - limit
	// One container: its own use is counted locally as each request ends,
	// so only the requests in flight when the budget was crossed overshoot.
	bound := int64(clients) * turn
	t.Logf("turn %d tokens, budget %d, used %d (overshoot %d, bound %d = %d in flight x turn), %d served, %d refused",
		turn, limit, used, overshoot, bound, clients, ok.Load()+1, refused.Load())
	if refused.Load() == 0 || used < limit || overshoot > bound {
		t.Errorf("used %d of %d (overshoot %d, bound %d), refused %d", used, limit, overshoot, bound, refused.Load())
	}
}

// reload makes the proxy read the key's use again and waits for it: a
// check starts a load unless one is running, so the second round surely
// reads what was flushed before the call.
func reload(t *testing.T, h *simHarness, src *usageBudgets, clock *testclock.Clock) {
	t.Helper()
	for range 2 {
		clock.Add(time.Millisecond) // past BudgetRefresh
		n := src.loads.Load()
		h.p.meter.Check("sim", src.limit) //nolint:errcheck // only the load it starts matters
		waitLoads(t, src, n+1)
	}
}

// budgetError reads an OpenAI-shaped budget refusal.
func budgetError(t *testing.T, body string) (typ, code, msg string, resetsAt int64) {
	t.Helper()
	var doc struct {
		Error struct {
			Type, Code, Message string
			ResetsAt            int64 `json:"resets_at"`
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return doc.Error.Type, doc.Error.Code, doc.Error.Message, doc.Error.ResetsAt
}

// A weekly budget counts the week's earlier days (Saturday's turn still
// counts on Sunday) and starts over on Monday 00:00 UTC.
func TestProxy_Budget_WeeklyAcrossDayAndWeek(t *testing.T) {
	saturday := time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
	sunday := time.Date(2026, 5, 3, 23, 0, 0, 0, time.UTC)
	monday := time.Date(2026, 5, 4, 0, 0, 1, 0, time.UTC)
	clock := testclock.New(saturday)
	h0, _, _ := budgetHarness(t, metering.KeyBudget{}, nil)
	h0.post("/v1/responses", simBody, nil)
	probe := h0.usage.waitRecords(t, 1)
	turn := probe[0].InputTokens + probe[0].OutputTokens
	// One turn a day stays under it; two turns in a week do not. No daily
	// budget: only the week can refuse.
	h, src, events := budgetHarness(t, metering.KeyBudget{Weekly: turn + 1}, clock)
	ok := func(when string) {
		t.Helper()
		if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", when, resp.StatusCode, body)
		}
	}
	served := int64(0)
	settle := func() { t.Helper(); h.usage.waitRecords(t, served); reload(t, h, src, clock) }

	ok("saturday")
	served++
	settle()
	clock.Set(sunday)
	ok("sunday's first request (a new day: admitted before its first load)")
	served++
	settle()
	// Sunday alone (one turn) is under the budget: a refusal now proves
	// Saturday counts.
	nextMonday := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ path, body string }{
		{"/v1/responses", simBody},
		{"/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}],"stream":true}`},
	} {
		resp, body := h.post(tc.path, tc.body, nil)
		typ, code, msg, resetsAt := budgetError(t, body)
		if resp.StatusCode != http.StatusTooManyRequests || typ != "insufficient_quota" || code != "insufficient_quota" ||
			!strings.Contains(msg, "weekly budget") || !strings.Contains(msg, "2026-05-04T00:00:00Z") ||
			resetsAt != nextMonday.Unix() || resp.Header.Get("Retry-After") != "3600" {
			t.Errorf("%s over the weekly budget: %d %v %s", tc.path, resp.StatusCode, resp.Header, body)
		}
	}
	resp, body := h.post("/v1/messages", messagesBody(true, ""), nil)
	if typ, msg := anthropicError(t, body); resp.StatusCode != http.StatusTooManyRequests || typ != "rate_limit_error" ||
		!strings.Contains(msg, "weekly budget") || !strings.Contains(msg, "2026-05-04T00:00:00Z") || resp.Header.Get("Retry-After") != "3600" {
		t.Errorf("messages over the weekly budget: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if got := events.list(); len(got) != 3 || got[0] != "sim weekly" || got[2] != "sim weekly" {
		t.Errorf("refusal events %q, want 3 x \"sim weekly\"", got)
	}

	// A new ISO week: Saturday's and Sunday's turns no longer count.
	clock.Set(monday)
	ok("monday's first request")
	served++
	settle()
	ok("monday's second request: the past week is over")
	served++
	settle()
	resp, body = h.post("/v1/responses", simBody, nil)
	if _, _, msg, resetsAt := budgetError(t, body); resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(msg, "weekly budget") || resetsAt != nextMonday.AddDate(0, 0, 7).Unix() {
		t.Errorf("two turns on monday: %d %s", resp.StatusCode, body)
	}
}

// Yesterday's last writes land after midnight: the week's earlier days are
// read again in the first minutes of a day, so they still count.
func TestProxy_Budget_WeeklySeesYesterdaysLateWrite(t *testing.T) {
	h0, _, _ := budgetHarness(t, metering.KeyBudget{}, nil)
	h0.post("/v1/responses", simBody, nil)
	probe := h0.usage.waitRecords(t, 1)
	turn := probe[0].InputTokens + probe[0].OutputTokens

	clock := testclock.New(time.Date(2026, 5, 5, 23, 59, 59, 0, time.UTC)) // Tuesday
	h, src, _ := budgetHarness(t, metering.KeyBudget{Weekly: turn + 1}, clock)
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("tuesday: %d %s", resp.StatusCode, body)
	}
	// Wednesday: the week's earlier days are read before Tuesday's turn is
	// written, then it is written.
	clock.Set(time.Date(2026, 5, 6, 0, 0, 30, 0, time.UTC))
	reload(t, h, src, clock)
	h.usage.waitRecords(t, 1)
	reload(t, h, src, clock)
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("wednesday's first turn (%d of %d tokens used): %d %s", turn, turn+1, resp.StatusCode, body)
	}
	h.usage.waitRecords(t, 2)
	reload(t, h, src, clock)
	resp, body := h.post("/v1/responses", simBody, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after tuesday's late turn and wednesday's (%d of %d tokens): %d, want 429", 2*turn, turn+1, resp.StatusCode)
	}
	if _, _, msg, _ := budgetError(t, body); !strings.Contains(msg, "weekly budget") {
		t.Errorf("refusal %s, want the weekly budget named", body)
	}
}

// What this container served counts against the budget until the table
// holds it: a reload of the table in between must not forget it.
func TestProxy_Budget_CountsUnflushedUse(t *testing.T) {
	h0, _, _ := budgetHarness(t, metering.KeyBudget{}, nil)
	h0.post("/v1/responses", simBody, nil)
	probe := h0.usage.waitRecords(t, 1)
	turn := probe[0].InputTokens + probe[0].OutputTokens

	h, src, _ := budgetHarness(t, metering.KeyBudget{Daily: turn + 1}, nil)
	for i := range 2 {
		n := src.loads.Load()
		if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
		waitLoads(t, src, n+1) // the load this request's check started
	}
	// Nothing was flushed, so every load read 0 from the table.
	if n := len(h.usage.records()); n != 0 {
		t.Fatalf("%d records before any flush", n)
	}
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third request after two unflushed turns (%d tokens of %d): %d %s", 2*turn, turn+1, resp.StatusCode, body)
	}
	// Once written, the table's count takes over and the refusal stays.
	h.usage.waitRecords(t, 2)
	n := src.loads.Load()
	h.post("/v1/responses", simBody, nil)
	waitLoads(t, src, n+1)
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after the flush: %d %s", resp.StatusCode, body)
	}
}
