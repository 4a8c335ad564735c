package openaisim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authorize checks the bearer token and the ChatGPT-Account-Id header of a
// backend request, counting it with count (called under the lock). On
// failure it has written the 401 and returns nil.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request, count func(*Stats)) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	count(&s.stats)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && tok != "" {
		s.stats.RequestsByAccessToken[TokenKey(tok)]++
	}
	rec := s.access[tok]
	code, msg := "", ""
	switch {
	case !ok || tok == "":
		code, msg = codeMissingAuth, msgMissingAuth
	case rec == nil:
		code, msg = codeTokenInvalid, msgTokenInvalid
	case rec.fam.revoked:
		code, msg = codeTokenInvalidated, msgTokenInvalidated
	case rec.invalidated || !s.nowLocked().Before(rec.exp):
		code, msg = codeTokenExpired, msgTokenExpired
	case s.opts.StrictOldAccess && rec.superseded:
		code, msg = codeTokenInvalidated, msgTokenInvalidated
	case r.Header.Get("ChatGPT-Account-Id") != rec.fam.accountID:
		// The backend reports a missing or foreign account id as an expired token.
		code, msg = codeTokenExpired, msgAccountMismatch
	default:
		return s.accounts[rec.fam.accountID]
	}
	s.stats.Unauthorized++
	if rec != nil {
		s.acct(rec.fam.accountID).Unauthorized++
	}
	writeError(w, http.StatusUnauthorized, code, "", msg)
	return nil
}

// modelRequest is the part of a /responses or /compact body the simulator
// checks. Pointers tell "missing" from zero values.
type modelRequest struct {
	Model        string          `json:"model"`
	Instructions *string         `json:"instructions"`
	Input        json.RawMessage `json:"input"`
	Stream       *bool           `json:"stream"`
	Store        *bool           `json:"store"`
	// Read only to plan the turn (see turns.go); their shapes are not
	// validated.
	Tools          json.RawMessage `json:"tools"`
	Reasoning      json.RawMessage `json:"reasoning"`
	Include        []string        `json:"include"`
	PromptCacheKey string          `json:"prompt_cache_key"`
}

// readModelRequest decodes and validates a body; streaming selects the
// /responses rules (instructions, store:false, stream:true).
func readModelRequest(r *http.Request, streaming bool) (modelRequest, int, string) {
	var req modelRequest
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return req, http.StatusUnsupportedMediaType, "Content-Type must be application/json"
	}
	var body io.Reader = io.LimitReader(r.Body, 64<<20)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return req, http.StatusBadRequest, "Invalid gzip body"
		}
		body = zr
	default:
		return req, http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported Content-Encoding %q", enc)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return req, http.StatusBadRequest, "Could not read the request body"
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&top); err != nil || dec.More() || top == nil {
		return req, http.StatusBadRequest, "Request body is not a valid JSON object"
	}
	if p := refusedParam(top); p != "" {
		return req, http.StatusBadRequest, "Unsupported parameter: " + p
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return req, http.StatusBadRequest, "Request body is not a valid JSON object"
	}
	switch in := strings.TrimSpace(string(req.Input)); {
	case req.Model == "":
		return req, http.StatusBadRequest, "Missing required parameter: 'model'."
	case in == "" || in == "null" || !(in[0] == '[' || in[0] == '"'):
		return req, http.StatusBadRequest, "Missing required parameter: 'input'."
	case !streaming:
		return req, 0, ""
	case req.Instructions == nil || *req.Instructions == "":
		return req, http.StatusBadRequest, "Instructions are required"
	case req.Store == nil || *req.Store:
		return req, http.StatusBadRequest, "Store must be set to false"
	case req.Stream == nil || !*req.Stream:
		return req, http.StatusBadRequest, "Stream must be set to true"
	}
	return req, 0, ""
}

// limited answers 429 usage_limit_reached while the account is limited.
func (s *Sim) limited(w http.ResponseWriter, a *account) bool {
	s.mu.Lock()
	now := s.nowLocked()
	if !now.Before(a.limitUntil) {
		s.mu.Unlock()
		return false
	}
	s.stats.UsageLimited++
	s.acct(a.ID).UsageLimited++
	until, plan := a.limitUntil, a.Plan
	setRateHeaders(w, a, now)
	s.mu.Unlock()
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"type":              "usage_limit_reached",
		"message":           "The usage limit has been reached",
		"plan_type":         plan,
		"resets_at":         until.Unix(),
		"resets_in_seconds": int64(until.Sub(now).Seconds()),
	}})
	return true
}

// handleResponses serves POST /backend-api/codex/responses as an SSE stream.
func (s *Sim) handleResponses(w http.ResponseWriter, r *http.Request, cut int) {
	a := s.authorize(w, r, func(st *Stats) { st.ResponsesRequests++ })
	if a == nil {
		return
	}
	req, status, msg := readModelRequest(r, true)
	if status != 0 {
		s.countBad()
		writeDetail(w, status, msg)
		return
	}
	if s.limited(w, a) {
		return
	}
	s.mu.Lock()
	now := s.nowLocked()
	a.rollWindowsLocked(now)
	a.primary = min(a.primary+0.5, 99)
	a.secondary = min(a.secondary+0.1, 99)
	setRateHeaders(w, a, now)
	s.stats.ResponsesOK++
	s.acct(a.ID).ResponsesOK++
	s.stats.LastModel, s.stats.LastEffort = req.Model, effortOf(req.Reasoning)
	cacheHit := req.PromptCacheKey != "" && s.cacheKeys[req.PromptCacheKey]
	if req.PromptCacheKey != "" {
		s.cacheKeys[req.PromptCacheKey] = true
	}
	s.mu.Unlock()
	t := newTurn(req.Model, s.opts.Answer, len(req.Input), now)
	s.planTurn(req, &t, cacheHit)
	s.stream(w, r, t, cut, func() { s.countTurn(t) })
}

// countTurn adds a turn whose terminal event is being sent to the counters.
func (s *Sim) countTurn(t turn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case t.failCode != "":
		s.stats.ResponsesFailed++
		return
	case t.incomplete:
		s.stats.ResponsesIncomplete++
	default:
		s.stats.ResponsesComplete++
	}
	if t.call != nil {
		s.stats.FunctionCalls++
	}
	u := t.usage()
	s.stats.InputTokens += u.InputTokens
	s.stats.CachedTokens += u.CachedTokens
	s.stats.OutputTokens += u.OutputTokens
	s.stats.ReasoningTokens += u.ReasoningTokens
	s.stats.LastUsage = u
}

// handleCompact serves POST /backend-api/codex/responses/compact.
func (s *Sim) handleCompact(w http.ResponseWriter, r *http.Request, _ int) {
	a := s.authorize(w, r, func(st *Stats) { st.CompactRequests++ })
	if a == nil {
		return
	}
	if _, status, msg := readModelRequest(r, false); status != 0 {
		s.countBad()
		writeDetail(w, status, msg)
		return
	}
	if s.limited(w, a) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"output": []any{
		map[string]any{"type": "message", "role": "user", "content": []any{
			map[string]any{"type": "input_text", "text": "Summary of the conversation so far (compacted by the codexgate simulator)."},
		}},
	}})
}

// handleModels serves GET /backend-api/codex/models in the shape of the
// Codex CLI's ModelsResponse ({"models":[ModelInfo…]}).
func (s *Sim) handleModels(w http.ResponseWriter, r *http.Request, _ int) {
	if s.authorize(w, r, func(st *Stats) { st.ModelsRequests++ }) == nil {
		return
	}
	w.Header().Set("ETag", `"openaisim-models-1"`)
	writeJSON(w, http.StatusOK, map[string]any{"models": []any{
		modelInfo("gpt-5.1-codex", "GPT-5.1-Codex", 1),
		modelInfo("gpt-5-codex", "GPT-5-Codex", 2),
		modelInfo("gpt-5.1-codex-mini", "GPT-5.1-Codex-Mini", 3),
	}})
}

// modelInfo carries every field the Codex CLI requires of a ModelInfo
// (codex-rs/protocol/src/openai_models.rs).
func modelInfo(slug, name string, priority int) map[string]any {
	effort := func(e, d string) map[string]string { return map[string]string{"effort": e, "description": d} }
	return map[string]any{
		"slug":                             slug,
		"display_name":                     name,
		"description":                      "Simulated " + name + " (codexgate openaisim).",
		"default_reasoning_level":          "medium",
		"supported_reasoning_levels":       []any{effort("low", "Fast"), effort("medium", "Balanced"), effort("high", "Thorough")},
		"shell_type":                       "shell_command",
		"visibility":                       "list",
		"supported_in_api":                 true,
		"priority":                         priority,
		"upgrade":                          nil,
		"base_instructions":                "You are Codex, a coding agent (simulated).",
		"supports_reasoning_summaries":     true,
		"support_verbosity":                false,
		"default_verbosity":                nil,
		"apply_patch_tool_type":            "freeform",
		"truncation_policy":                map[string]any{"mode": "tokens", "limit": 10000},
		"supports_parallel_tool_calls":     false,
		"context_window":                   272000,
		"effective_context_window_percent": 95,
		"experimental_supported_tools":     []string{},
		"input_modalities":                 []string{"text", "image"},
	}
}

// handleUsage serves GET /backend-api/wham/usage.
func (s *Sim) handleUsage(w http.ResponseWriter, r *http.Request, _ int) {
	a := s.authorize(w, r, func(st *Stats) { st.UsageRequests++ })
	if a == nil {
		return
	}
	s.mu.Lock()
	now := s.nowLocked()
	a.rollWindowsLocked(now)
	p, sec := usageWindows(a, now)
	limited := now.Before(a.limitUntil)
	if s.swapWindows {
		p, sec = sec, p
	}
	body := map[string]any{
		"user_id":    a.UserID,
		"account_id": a.ID,
		"email":      a.Email,
		"plan_type":  a.Plan,
		"rate_limit": map[string]any{
			"allowed":          !limited,
			"limit_reached":    limited,
			"primary_window":   p,
			"secondary_window": sec,
		},
		"credits": map[string]any{"has_credits": false, "unlimited": false, "balance": "0"},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// usageWindow is one window of /wham/usage and of the x-codex-* headers.
type usageWindow struct {
	UsedPercent        float64 `json:"used_percent"`
	LimitWindowSeconds int64   `json:"limit_window_seconds"`
	ResetAfterSeconds  int64   `json:"reset_after_seconds"`
	ResetAt            int64   `json:"reset_at"`
}

// usageWindows returns the 5-hour and weekly windows; an active limit shows
// as 100% on the window its reset falls into.
func usageWindows(a *account, now time.Time) (primary, secondary usageWindow) {
	mk := func(used float64, win time.Duration, reset time.Time) usageWindow {
		return usageWindow{used, int64(win.Seconds()), int64(reset.Sub(now).Seconds()), reset.Unix()}
	}
	primary = mk(a.primary, primaryWindow, a.primaryReset)
	secondary = mk(a.secondary, secondaryWindow, a.secondaryReset)
	if now.Before(a.limitUntil) {
		if a.limitUntil.Sub(now) <= primaryWindow {
			primary = mk(100, primaryWindow, a.limitUntil)
		} else {
			secondary = mk(100, secondaryWindow, a.limitUntil)
		}
	}
	return primary, secondary
}

// setRateHeaders writes the x-codex-* quota headers the backend attaches to
// every answer; the caller holds s.mu.
func setRateHeaders(w http.ResponseWriter, a *account, now time.Time) {
	p, sec := usageWindows(a, now)
	h := w.Header()
	for prefix, win := range map[string]usageWindow{"x-codex-primary-": p, "x-codex-secondary-": sec} {
		h.Set(prefix+"used-percent", strconv.FormatFloat(win.UsedPercent, 'f', -1, 64))
		h.Set(prefix+"window-minutes", strconv.FormatInt(win.LimitWindowSeconds/60, 10))
		h.Set(prefix+"reset-at", strconv.FormatInt(win.ResetAt, 10))
		h.Set(prefix+"reset-after-seconds", strconv.FormatInt(win.ResetAfterSeconds, 10))
	}
	h.Set("x-codex-plan-type", a.Plan)
	h.Set("x-codex-credits-has-credits", "false")
	h.Set("x-codex-credits-unlimited", "false")
}

func (s *Sim) countBad() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.BadRequests++
}

// effortOf is a reasoning object's effort ("" when absent or unreadable).
func effortOf(raw json.RawMessage) string {
	var r struct {
		Effort string `json:"effort"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	return r.Effort
}
