package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

// failing answers every request for account bad with fail; others complete.
func failing(bad string, fail func(w http.ResponseWriter, r *http.Request, rec upstreamRecord)) func(http.ResponseWriter, *http.Request, upstreamRecord) {
	return func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		if rec.Account == bad {
			fail(w, r, rec)
			return
		}
		serveCompleted(w, r, rec)
	}
}

func TestProxy_ServeHTTP_Failover(t *testing.T) {
	const resetsAt = 1_800_003_600 // clock + 1 h
	now := newFakeClock().Now()
	tests := []struct {
		name         string
		fail         func(w http.ResponseWriter, r *http.Request, rec upstreamRecord)
		wantAccounts []string // upstream requests, in order
		wantCooldown *cooldownCall
		wantForced   int
		// then: does the next request skip account a?
		wantNextSkipsA bool
	}{
		{
			name: "429 usage_limit_reached cools down until resets_at",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				writeJSONStatus(w, 429, fmt.Sprintf(`{"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","resets_at":%d,"resets_in_seconds":3600}}`, resetsAt))
			},
			wantAccounts:   []string{"a", "b"},
			wantCooldown:   &cooldownCall{"a", time.Unix(resetsAt, 0), quota.CooldownUsageLimit},
			wantNextSkipsA: true,
		},
		{
			name: "429 usage_limit_reached with resets_in_seconds only",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				writeJSONStatus(w, 429, `{"error":{"type":"usage_limit_reached","resets_in_seconds":120}}`)
			},
			wantAccounts:   []string{"a", "b"},
			wantCooldown:   &cooldownCall{"a", now.Add(120 * time.Second), quota.CooldownUsageLimit},
			wantNextSkipsA: true,
		},
		{
			name: "429 rate_limit_exceeded backs off in memory only",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				writeJSONStatus(w, 429, `{"error":{"type":"rate_limit_exceeded","code":"rate_limit_exceeded","message":"slow down"}}`)
			},
			wantAccounts:   []string{"a", "b"},
			wantNextSkipsA: true,
		},
		{
			name: "401 on a token just minted cools down 30 s",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				writeJSONStatus(w, 401, `{"error":{"code":"token_expired","message":"expired"}}`)
			},
			wantAccounts:   []string{"a", "a", "b"},
			wantCooldown:   &cooldownCall{"a", now.Add(30 * time.Second), quota.CooldownUnauthorized},
			wantForced:     1,
			wantNextSkipsA: true,
		},
		{
			name: "500 fails over",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				writeJSONStatus(w, 500, `{"error":{"type":"server_error"}}`)
			},
			wantAccounts: []string{"a", "b"},
		},
		{
			name: "502 without a body fails over",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				w.WriteHeader(502)
			},
			wantAccounts: []string{"a", "b"},
		},
		{
			name: "dropped connection fails over after one retry",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				panic(http.ErrAbortHandler)
			},
			wantAccounts: []string{"a", "a", "b"},
		},
		{
			name: "usage limit as the first stream event fails over",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Write([]byte(sseEvent("error", map[string]any{"type": "error", "error": map[string]any{"type": "usage_limit_reached", "resets_at": resetsAt}})))
			},
			wantAccounts:   []string{"a", "b"},
			wantCooldown:   &cooldownCall{"a", time.Unix(resetsAt, 0), quota.CooldownUsageLimit},
			wantNextSkipsA: true,
		},
		{
			name: "empty 200 stream fails over",
			fail: func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
				w.Header().Set("Content-Type", "text/event-stream")
			},
			wantAccounts: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []string{"a", "b"})
			h.up.handle = failing("a", tt.fail)
			status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := h.up.accounts(); !slices.Equal(got, tt.wantAccounts) {
				t.Fatalf("upstream accounts = %v, want %v", got, tt.wantAccounts)
			}
			_, _, cds := h.store.calls()
			switch {
			case tt.wantCooldown == nil && len(cds) > 0:
				t.Errorf("unexpected cooldowns %+v", cds)
			case tt.wantCooldown != nil && (len(cds) != 1 || cds[0].Account != tt.wantCooldown.Account ||
				!cds[0].Until.Equal(tt.wantCooldown.Until) || cds[0].Reason != tt.wantCooldown.Reason):
				t.Errorf("cooldowns = %+v, want %+v", cds, *tt.wantCooldown)
			}
			if n := len(h.tokens.forced()); n != tt.wantForced {
				t.Errorf("forced refreshes = %d, want %d", n, tt.wantForced)
			}
			before := len(h.up.requests())
			read(t, h.do("POST", "/v1/responses", streamBody, nil))
			next := h.up.accounts()[before:]
			if skips := next[0] != "a"; skips != tt.wantNextSkipsA {
				t.Errorf("next request went to %v; want skip a = %v", next, tt.wantNextSkipsA)
			}
		})
	}
}

func TestProxy_ServeHTTP_SingleUnauthorizedRefreshesOnce(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	rejected := 0
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		if rec.Token == "tok-a-0" {
			rejected++
			writeJSONStatus(w, 401, `{"error":{"code":"token_expired","message":"Provided authentication token is expired."}}`)
			return
		}
		serveCompleted(w, r, rec)
	}
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	forced := h.tokens.forced()
	if len(forced) != 1 || forced[0].Account != "a" || forced[0].Opts.Rejected != "tok-a-0" {
		t.Fatalf("forced refreshes = %+v, want one for a rejecting tok-a-0", forced)
	}
	reqs := h.up.requests()
	if len(reqs) != 2 || reqs[0].Token != "tok-a-0" || reqs[1].Token != "tok-a-1" || string(reqs[1].Body) != streamBody {
		t.Fatalf("upstream requests = %+v", reqs)
	}
	if _, _, cds := h.store.calls(); len(cds) != 0 {
		t.Errorf("cooldowns = %+v", cds)
	}
}

func TestProxy_ServeHTTP_TokenSourceFailures(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c", "d", "e"})
	h.tokens.errs["a"] = &codex.ReauthError{Account: "a", Reason: "refresh_token_reused"}
	h.tokens.errs["b"] = codex.ErrNoTime
	h.tokens.errs["c"] = fmt.Errorf("load secret: %w", codex.ErrAccountNotFound)
	h.tokens.errs["d"] = &codex.RateLimitedError{Account: "d", RetryAt: h.clock.Now().Add(15 * time.Minute)}
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if got := h.up.accounts(); !slices.Equal(got, []string{"e"}) {
		t.Fatalf("upstream accounts = %v", got)
	}
	// a (dead login), c (deleted) and d (refresh budget spent) stay out
	// without asking the token source again; b is tried again (a transient
	// failure).
	h.tokens.mu.Lock()
	h.tokens.calls = nil
	h.tokens.mu.Unlock()
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	h.tokens.mu.Lock()
	defer h.tokens.mu.Unlock()
	asked := map[string]bool{}
	for _, c := range h.tokens.calls {
		asked[c.Account] = true
	}
	if asked["a"] || asked["c"] || asked["d"] || !asked["b"] {
		t.Errorf("token source asked for %v; want b, not a, c or d", asked)
	}
}

func TestProxy_ServeHTTP_NoAccount(t *testing.T) {
	now := newFakeClock().Now()
	tests := []struct {
		name       string
		accounts   []string
		states     []AccountState
		fail       bool // upstream answers 500 for everyone
		wantStatus int
		wantCode   string
		wantReset  time.Time
	}{
		{name: "no accounts", wantStatus: 503, wantCode: "no_available_account"},
		{name: "all reauth", accounts: []string{"a"}, states: []AccountState{{Account: "a", ReauthRequired: true}},
			wantStatus: 503, wantCode: "no_available_account"},
		{name: "all usage limited: earliest reset", accounts: []string{"a", "b"}, states: []AccountState{
			{Account: "a", CooldownUntil: now.Add(2 * time.Hour), CooldownReason: quota.CooldownUsageLimit},
			{Account: "b", CooldownUntil: now.Add(time.Hour), CooldownReason: quota.CooldownUsageLimit},
		}, wantStatus: 429, wantCode: "usage_limit_reached", wantReset: now.Add(time.Hour)},
		{name: "limited and unauthorized: the unauthorized one is probed", accounts: []string{"a", "b"}, states: []AccountState{
			{Account: "a", CooldownUntil: now.Add(2 * time.Hour), CooldownReason: quota.CooldownUsageLimit},
			{Account: "b", CooldownUntil: now.Add(time.Hour), CooldownReason: quota.CooldownUnauthorized, CooldownStrikes: 3},
		}, wantStatus: 200},
		{name: "limited and reauth", accounts: []string{"a", "b"}, states: []AccountState{
			{Account: "a", CooldownUntil: now.Add(2 * time.Hour), CooldownReason: quota.CooldownUsageLimit},
			{Account: "b", ReauthRequired: true},
		}, wantStatus: 503, wantCode: "no_available_account"},
		{name: "expired cooldown is healthy", accounts: []string{"a"}, states: []AccountState{
			{Account: "a", CooldownUntil: now.Add(-time.Second), CooldownReason: quota.CooldownUsageLimit},
		}, wantStatus: 200},
		{name: "all fail upstream", accounts: []string{"a", "b"}, fail: true, wantStatus: 503, wantCode: "upstream_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := &noAccountCount{}
			h := newHarness(t, tt.accounts, func(c *Config) { c.AvailabilityEvents = events })
			h.store.states = tt.states
			if tt.fail {
				h.up.handle = func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
					writeJSONStatus(w, 500, `{"error":{"message":"internal detail"}}`)
				}
			}
			resp := h.do("POST", "/v1/responses", streamBody, nil)
			status, body := read(t, resp)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			// NoAccountAvailable counts exactly the no_available_account
			// answers (its alarm), not 429s or upstream failures.
			want := int64(0)
			if tt.wantCode == "no_available_account" {
				want = 1
			}
			if got := events.n.Load(); got != want {
				t.Errorf("NoAccountAvailable heard %d times, want %d", got, want)
			}
			if tt.wantCode == "" {
				return
			}
			e := openAIError(t, body)
			if e.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
			}
			if !tt.wantReset.IsZero() {
				if e.ResetsAt != tt.wantReset.Unix() || resp.Header.Get("Retry-After") != strconv.Itoa(3600) {
					t.Errorf("resets_at = %d, Retry-After %q; want %d", e.ResetsAt, resp.Header.Get("Retry-After"), tt.wantReset.Unix())
				}
			}
			if tt.fail && len(h.up.requests()) != 2 {
				t.Errorf("upstream requests = %d, want 2", len(h.up.requests()))
			}
		})
	}
}

// noAccountCount is an AvailabilityEvents that counts what it heard.
type noAccountCount struct{ n atomic.Int64 }

func (c *noAccountCount) NoAccountAvailable() { c.n.Add(1) }

// TestProxy_NoAccount_Messages_Counted: the Anthropic front's answer (529
// overloaded_error, its shape of the 503) is counted too: every front
// answers through writeError.
func TestProxy_NoAccount_Messages_Counted(t *testing.T) {
	events := &noAccountCount{}
	h := newHarness(t, nil, func(c *Config) { c.AvailabilityEvents = events })
	status, body := read(t, h.do("POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, nil))
	if status != 529 || !strings.Contains(body, `"overloaded_error"`) {
		t.Fatalf("status %d, body %s: want Anthropic's 529 overloaded_error", status, body)
	}
	if got := events.n.Load(); got != 1 {
		t.Errorf("NoAccountAvailable heard %d times, want 1", got)
	}
}

func TestProxy_ServeHTTP_AllLimitedAfterFailover(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	now := h.clock.Now()
	h.up.handle = func(w http.ResponseWriter, _ *http.Request, rec upstreamRecord) {
		reset := now.Add(2 * time.Hour)
		if rec.Account == "b" {
			reset = now.Add(30 * time.Minute)
		}
		writeJSONStatus(w, 429, fmt.Sprintf(`{"error":{"type":"usage_limit_reached","resets_at":%d}}`, reset.Unix()))
	}
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 429 {
		t.Fatalf("status %d: %s", status, body)
	}
	if e := openAIError(t, body); e.Type != "usage_limit_reached" || e.ResetsAt != now.Add(30*time.Minute).Unix() {
		t.Errorf("error = %+v", e)
	}
}

func TestProxy_ServeHTTP_ConcurrentFailover(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"})
	h.up.handle = failing("a", func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
		writeJSONStatus(w, 429, `{"error":{"type":"usage_limit_reached","resets_in_seconds":600}}`)
	})
	const n = 24
	errs := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := http.Header{"Session_id": {fmt.Sprintf("s%d", i%5)}}
			if status, body := read(t, h.do("POST", "/v1/responses", streamBody, hdr)); status != 200 {
				errs <- fmt.Sprintf("%d %s", status, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	_, _, cds := h.store.calls()
	if len(cds) == 0 || len(cds) > n {
		t.Errorf("cooldowns = %d", len(cds))
	}
}
