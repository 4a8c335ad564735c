package openaisim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSim_Responses_Auth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		setup func(f *fixture, tok Tokens) *http.Request
		code  string // "" = 200
	}{
		{"valid", Options{}, nil, ""},
		{"no authorization", Options{}, func(f *fixture, tok Tokens) *http.Request {
			req := f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
			req.Header.Del("Authorization")
			return req
		}, "missing_authorization"},
		{"token not issued", Options{}, func(f *fixture, tok Tokens) *http.Request {
			tok.AccessToken += "x"
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_invalid"},
		{"expired by clock", Options{AccessTTL: time.Hour}, func(f *fixture, tok Tokens) *http.Request {
			f.clock.Add(time.Hour)
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_expired"},
		{"expired by Advance", Options{AccessTTL: time.Hour}, func(f *fixture, tok Tokens) *http.Request {
			f.sim.Advance(61 * time.Minute)
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_expired"},
		{"ExpireAccessTokens", Options{}, func(f *fixture, tok Tokens) *http.Request {
			if err := f.sim.ExpireAccessTokens(tok.AccountID); err != nil {
				t.Fatal(err)
			}
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_expired"},
		{"wrong ChatGPT-Account-Id", Options{}, func(f *fixture, tok Tokens) *http.Request {
			other := f.sim.AddAccount(Account{})
			tok.AccountID = other.AccountID
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_expired"},
		{"missing ChatGPT-Account-Id", Options{}, func(f *fixture, tok Tokens) *http.Request {
			req := f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
			req.Header.Del("ChatGPT-Account-Id")
			return req
		}, "token_expired"},
		{"superseded, lenient", Options{}, func(f *fixture, tok Tokens) *http.Request {
			tokensFrom(t, f.refresh(t, tok.RefreshToken, false), tok.AccountID)
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, ""},
		{"superseded, StrictOldAccess", Options{StrictOldAccess: true}, func(f *fixture, tok Tokens) *http.Request {
			tokensFrom(t, f.refresh(t, tok.RefreshToken, false), tok.AccountID)
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_invalidated"},
		{"RevokeAccount", Options{}, func(f *fixture, tok Tokens) *http.Request {
			if err := f.sim.RevokeAccount(tok.AccountID); err != nil {
				t.Fatal(err)
			}
			return f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		}, "token_invalidated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			tok := f.sim.AddAccount(Account{})
			req := f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
			if tc.setup != nil {
				req = tc.setup(f, tok)
			}
			r := do(t, req)
			if tc.code == "" {
				if r.status != 200 {
					t.Fatalf("got %d %s, want 200", r.status, r.raw)
				}
				return
			}
			if r.status != 401 || r.errCode() != tc.code {
				t.Fatalf("got %d %s, want 401 %s", r.status, r.raw, tc.code)
			}
			if st := f.sim.Stats(); st.Unauthorized != 1 || st.ResponsesOK != 0 {
				t.Fatalf("stats: %+v", st)
			}
		})
	}
	t.Run("after ExpireAccessTokens a refreshed token works", func(t *testing.T) {
		f := newFixture(t, Options{})
		tok := f.sim.AddAccount(Account{})
		if err := f.sim.ExpireAccessTokens(tok.AccountID); err != nil {
			t.Fatal(err)
		}
		next := tokensFrom(t, f.refresh(t, tok.RefreshToken, false), tok.AccountID)
		if r := f.responses(t, next); r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		st := f.sim.Stats()
		if st.RequestsByAccessToken[TokenKey(next.AccessToken)] != 1 || st.RequestsByAccessToken[TokenKey(tok.AccessToken)] != 0 {
			t.Fatalf("per-token counts: %v", st.RequestsByAccessToken)
		}
	})
}

func TestSim_Responses_BodyValidation(t *testing.T) {
	without := func(k string) map[string]any { b := validBody(); delete(b, k); return b }
	set := func(k string, v any) map[string]any { b := validBody(); b[k] = v; return b }
	for _, tc := range []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"stream false", set("stream", false), 400, "Stream must be set to true"},
		{"stream missing", without("stream"), 400, "Stream must be set to true"},
		{"store true", set("store", true), 400, "Store must be set to false"},
		{"store missing", without("store"), 400, "Store must be set to false"},
		{"instructions missing", without("instructions"), 400, "Instructions are required"},
		{"instructions empty", set("instructions", ""), 400, "Instructions are required"},
		{"model missing", without("model"), 400, "Missing required parameter: 'model'."},
		{"input missing", without("input"), 400, "Missing required parameter: 'input'."},
		{"input null", set("input", nil), 400, "Missing required parameter: 'input'."},
		{"input string ok", set("input", "hi"), 200, ""},
		{"not json", "{not json", 400, "Request body is not a valid JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.sim.AddAccount(Account{})
			req := f.backendReq(t, "POST", "/backend-api/codex/responses", tok, tc.body)
			if s, ok := tc.body.(string); ok {
				req = f.backendReq(t, "POST", "/backend-api/codex/responses", tok, nil)
				req.Body = http.NoBody
				req = newReq(t, "POST", req.URL.String(), "application/json", []byte(s))
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				req.Header.Set("ChatGPT-Account-Id", tok.AccountID)
			}
			r := do(t, req)
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.raw, tc.status)
			}
			if tc.detail != "" {
				e, _ := r.body["error"].(map[string]any)
				if r.body["detail"] != tc.detail || e["message"] != tc.detail {
					t.Fatalf("body %s, want detail %q", r.raw, tc.detail)
				}
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		f := newFixture(t, Options{})
		tok := f.sim.AddAccount(Account{})
		req := f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())
		req.Header.Set("Content-Type", "text/plain")
		if r := do(t, req); r.status != http.StatusUnsupportedMediaType {
			t.Fatalf("got %d", r.status)
		}
	})
}

func TestSim_Responses_StreamShape(t *testing.T) {
	f := newFixture(t, Options{Answer: "Four words of answer."})
	tok := f.sim.AddAccount(Account{Plan: "pro"})
	if err := f.sim.SetUsage(tok.AccountID, 12.5, 40); err != nil {
		t.Fatal(err)
	}
	r := f.responses(t, tok)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("got %d %q", r.status, r.header.Get("Content-Type"))
	}
	for k, want := range map[string]string{
		"x-codex-primary-used-percent":     "13",
		"x-codex-primary-window-minutes":   "300",
		"x-codex-secondary-used-percent":   "40.1",
		"x-codex-secondary-window-minutes": "10080",
		"x-codex-plan-type":                "pro",
		"x-codex-primary-reset-at":         strconv.FormatInt(f.clock.Now().Add(5*time.Hour).Unix(), 10),
		"x-codex-secondary-reset-at":       strconv.FormatInt(f.clock.Now().Add(7*24*time.Hour).Unix(), 10),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	evs := sseEvents(t, r.raw)
	var names []string
	var deltas string
	for i, ev := range evs {
		names = append(names, ev.name)
		if ev.data["type"] != ev.name || ev.data["sequence_number"] != float64(i) {
			t.Errorf("event %d: type %v seq %v", i, ev.data["type"], ev.data["sequence_number"])
		}
		if ev.name == "response.output_text.delta" {
			deltas += ev.data["delta"].(string)
		}
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("events:\n%v\nwant\n%v", names, want)
	}
	if deltas != "Four words of answer." {
		t.Fatalf("deltas concatenate to %q", deltas)
	}
	resp := evs[len(evs)-1].data["response"].(map[string]any)
	if resp["status"] != "completed" || resp["object"] != "response" || resp["model"] != "gpt-5.1-codex" || resp["id"] == "" {
		t.Fatalf("completed response: %v", resp)
	}
	msg := resp["output"].([]any)[0].(map[string]any)
	text := msg["content"].([]any)[0].(map[string]any)["text"]
	if msg["type"] != "message" || msg["role"] != "assistant" || text != "Four words of answer." {
		t.Fatalf("completed output: %v", msg)
	}
	usage := resp["usage"].(map[string]any)
	if usage["total_tokens"] != usage["input_tokens"].(float64)+usage["output_tokens"].(float64) {
		t.Fatalf("usage: %v", usage)
	}
	if st := f.sim.Stats(); st.ResponsesRequests != 1 || st.ResponsesOK != 1 || st.ResponsesComplete != 1 || st.Accounts[tok.AccountID].ResponsesOK != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Responses_UsageLimit(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	resets := f.clock.Now().Add(30 * time.Minute)
	if err := f.sim.SetUsageLimit(tok.AccountID, resets); err != nil {
		t.Fatal(err)
	}
	r := f.responses(t, tok)
	e, _ := r.body["error"].(map[string]any)
	if r.status != 429 || e["type"] != "usage_limit_reached" || e["resets_at"] != float64(resets.Unix()) || e["resets_in_seconds"] != float64(1800) || e["plan_type"] != "plus" {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	compact := do(t, f.backendReq(t, "POST", "/backend-api/codex/responses/compact", tok, validBody()))
	if compact.status != 429 {
		t.Fatalf("compact while limited: %d", compact.status)
	}
	f.clock.Add(30 * time.Minute) // the limit lapses on the simulator clock
	if r := f.responses(t, tok); r.status != 200 {
		t.Fatalf("after reset: %d %s", r.status, r.raw)
	}
	if err := f.sim.SetUsageLimit(tok.AccountID, f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.ClearUsageLimit(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	if r := f.responses(t, tok); r.status != 200 {
		t.Fatalf("after clear: %d %s", r.status, r.raw)
	}
	if st := f.sim.Stats(); st.UsageLimited != 2 {
		t.Fatalf("stats: %+v", st)
	}
	if err := f.sim.SetUsageLimit("acct_nobody", resets); err == nil {
		t.Fatal("SetUsageLimit on an unknown account succeeded")
	}
}

func TestSim_Usage_WindowsAndSwap(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{Plan: "team"})
	if err := f.sim.SetUsage(tok.AccountID, 20, 70); err != nil {
		t.Fatal(err)
	}
	// classify finds windows by limit_window_seconds, as product code must.
	classify := func(r result) (fiveHour, weekly map[string]any) {
		rl := r.body["rate_limit"].(map[string]any)
		for _, k := range []string{"primary_window", "secondary_window"} {
			w := rl[k].(map[string]any)
			switch w["limit_window_seconds"] {
			case float64(18000):
				fiveHour = w
			case float64(604800):
				weekly = w
			}
		}
		return fiveHour, weekly
	}
	for _, swap := range []bool{false, true} {
		f.sim.SwapUsageWindows(swap)
		r := do(t, f.backendReq(t, "GET", "/backend-api/wham/usage", tok, nil))
		if r.status != 200 || r.body["plan_type"] != "team" {
			t.Fatalf("usage: %d %s", r.status, r.raw)
		}
		first := r.body["rate_limit"].(map[string]any)["primary_window"].(map[string]any)
		if wantFirst := map[bool]float64{false: 18000, true: 604800}[swap]; first["limit_window_seconds"] != wantFirst {
			t.Fatalf("swap=%v: primary_window is %v", swap, first["limit_window_seconds"])
		}
		fh, wk := classify(r)
		if fh["used_percent"] != float64(20) || wk["used_percent"] != float64(70) || fh["reset_after_seconds"] != float64(18000) {
			t.Fatalf("swap=%v windows: %v %v", swap, fh, wk)
		}
	}
	f.sim.SwapUsageWindows(false)
	if err := f.sim.SetUsageLimit(tok.AccountID, f.clock.Now().Add(3*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r := do(t, f.backendReq(t, "GET", "/backend-api/wham/usage", tok, nil))
	rl := r.body["rate_limit"].(map[string]any)
	_, wk := classify(r)
	if rl["limit_reached"] != true || rl["allowed"] != false || wk["used_percent"] != float64(100) {
		t.Fatalf("limited usage: %s", r.raw)
	}
	if r := do(t, f.backendReq(t, "GET", "/backend-api/wham/usage", Tokens{AccessToken: "nope", AccountID: tok.AccountID}, nil)); r.status != 401 {
		t.Fatalf("usage without a valid token: %d", r.status)
	}
}

func TestSim_ModelsAndCompact(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	r := do(t, f.backendReq(t, "GET", "/backend-api/codex/models?client_version=0.169.0", tok, nil))
	models, _ := r.body["models"].([]any)
	if r.status != 200 || len(models) == 0 {
		t.Fatalf("models: %d %s", r.status, r.raw)
	}
	m := models[0].(map[string]any)
	for _, k := range []string{"slug", "display_name", "supported_reasoning_levels", "shell_type", "visibility", "supported_in_api", "priority", "base_instructions", "supports_reasoning_summaries", "support_verbosity", "truncation_policy", "supports_parallel_tool_calls", "experimental_supported_tools"} {
		if _, ok := m[k]; !ok {
			t.Errorf("model lacks %s", k)
		}
	}
	body := validBody()
	delete(body, "stream")
	delete(body, "store")
	r = do(t, f.backendReq(t, "POST", "/backend-api/codex/responses/compact", tok, body))
	if out, _ := r.body["output"].([]any); r.status != 200 || len(out) == 0 {
		t.Fatalf("compact: %d %s", r.status, r.raw)
	}
	if r := do(t, f.backendReq(t, "GET", "/backend-api/codex/models", Tokens{AccessToken: "x", AccountID: tok.AccountID}, nil)); r.status != 401 {
		t.Fatalf("models without a valid token: %d", r.status)
	}
	if r := do(t, f.backendReq(t, "GET", "/backend-api/codex/nope", tok, nil)); r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
}
