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
)

// usageBudgets is a BudgetSource over a usageLog: the "table" is every
// record of every container sharing the log.
type usageBudgets struct {
	log   *usageLog
	limit int64
	loads atomic.Int64
}

func (b *usageBudgets) UsedToday(_ context.Context, name string, now time.Time) (int64, error) {
	b.loads.Add(1)
	var used int64
	for _, r := range b.log.records() {
		if r.Key == name && r.Time.UTC().Format(time.DateOnly) == now.UTC().Format(time.DateOnly) {
			used += r.InputTokens + r.OutputTokens
		}
	}
	return used, nil
}

// VerifyKey and VerifyKeyBudget: testKey is "sim", with the budget.
func (b *usageBudgets) VerifyKey(ctx context.Context, key string) (string, error) {
	name, _, err := b.VerifyKeyBudget(ctx, key)
	return name, err
}

func (b *usageBudgets) VerifyKeyBudget(_ context.Context, key string) (string, int64, error) {
	if key != testKey {
		return "", 0, ErrInvalidKey
	}
	return "sim", b.limit, nil
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func budgetHarness(t *testing.T, limit int64, clock *testClock) (*simHarness, *usageBudgets) {
	src := &usageBudgets{limit: limit}
	h := newSimHarnessWith(t, func(c *Config) {
		c.Budgets = src
		c.Keys = src
		c.BudgetRefresh = time.Nanosecond // every check reloads (in the background)
		if clock != nil {
			c.Clock = clock.now
		}
	}, "acct-a")
	src.log = h.usage
	return h, src
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
	clock := &testClock{t: day}
	h, src := budgetHarness(t, 1, clock) // any turn spends the budget
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
	if n := len(h.usage.records()); n != 1 {
		t.Errorf("%d usage records, want only the first request's", n)
	}

	// A new day (UTC) starts from zero.
	clock.set(midnight.Add(time.Second))
	if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after midnight: %d %s", resp.StatusCode, body)
	}
}

func TestProxy_Budget_StormOvershootBound(t *testing.T) {
	const perTurnProbe = 1
	h0, _ := budgetHarness(t, 0, nil)
	h0.post("/v1/responses", simBody, nil)
	rec := h0.usage.waitRecords(t, perTurnProbe)
	turn := rec[0].InputTokens + rec[0].OutputTokens // every turn below costs this

	const limit, clients, perClient = 1000, 8, 20
	h, src := budgetHarness(t, limit, nil)
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
	recs := h.usage.waitRecords(t, int(ok.Load())+1)
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
