package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// infoKeys is a KeyInfoVerifier: testKey has info, which a test may change.
type infoKeys struct {
	mu    sync.Mutex
	info  KeyInfo
	calls int
}

func (k *infoKeys) VerifyKey(ctx context.Context, key string) (string, error) {
	info, err := k.VerifyKeyInfo(ctx, key)
	return info.Name, err
}

func (k *infoKeys) VerifyKeyInfo(_ context.Context, key string) (KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if key != testKey {
		return KeyInfo{}, ErrInvalidKey
	}
	return k.info, nil
}

// controlledHarness is a harness whose test key has info's controls.
func controlledHarness(t *testing.T, accounts []string, info KeyInfo) (*harness, *infoKeys) {
	t.Helper()
	info.Name = "team"
	keys := &infoKeys{info: info}
	h := newHarness(t, accounts, func(c *Config) { c.Keys = keys })
	return h, keys
}

func TestProxy_KeyModels_AllowedAndRefusedInEachFrontsShape(t *testing.T) {
	// Claude Sonnet maps to gpt-5.1-codex (messages.DefaultModelsSpec): the
	// list names upstream models, checked after the front translated.
	h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{Models: []string{"gpt-5.1-codex", "gpt-5-mini"}})
	allowed := []struct{ path, body string }{
		{"/v1/responses", `{"model":"gpt-5.1-codex","instructions":"x","input":[],"stream":true,"store":false}`},
		{"/v1/chat/completions", `{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}],"stream":true}`},
		{"/v1/messages", messagesBody(true, "")},
	}
	for _, tc := range allowed {
		if status, body := read(t, h.do("POST", tc.path, tc.body, nil)); status != 200 {
			t.Errorf("%s (allowed model): %d %s", tc.path, status, body)
		}
	}
	if n := len(h.up.requests()); n != len(allowed) {
		t.Fatalf("%d upstream requests, want %d", n, len(allowed))
	}

	for _, path := range []string{"/v1/responses", "/v1/chat/completions"} {
		body := `{"model":"gpt-5.5","instructions":"x","input":[],"stream":true,"store":false}`
		if path == "/v1/chat/completions" {
			body = `{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}`
		}
		status, out := read(t, h.do("POST", path, body, nil))
		e := openAIError(t, out)
		if status != http.StatusForbidden || e.Code != "model_not_allowed" || !strings.Contains(e.Message, `"gpt-5.5"`) ||
			!strings.Contains(e.Message, "gpt-5.1-codex, gpt-5-mini") {
			t.Errorf("%s: %d %s, want 403 model_not_allowed naming the model and the allowed ones", path, status, out)
		}
	}
	// A Claude name mapped to a model off the list: Anthropic's shape.
	h2, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{Models: []string{"gpt-5-mini"}})
	status, out := read(t, h2.do("POST", "/v1/messages", messagesBody(true, ""), nil))
	typ, msg := anthropicError(t, out)
	if status != http.StatusForbidden || typ != "permission_error" || !strings.Contains(msg, `"gpt-5.1-codex"`) || !strings.Contains(msg, "gpt-5-mini") {
		t.Errorf("/v1/messages: %d %s, want 403 permission_error", status, out)
	}
	if n := len(h2.up.requests()); n != 0 {
		t.Errorf("%d refused requests went upstream", n)
	}
	// count_tokens sends nothing upstream: answered whatever the list.
	if status, out := read(t, h2.do("POST", "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, nil)); status != 200 {
		t.Errorf("count_tokens: %d %s", status, out)
	}
}

func TestProxy_KeyModels_ListFiltered(t *testing.T) {
	const doc = `{"models":[{"slug":"gpt-5.5","priority":1},{"slug":"gpt-5.1-codex","priority":2,"extra":{"a":1}},{"slug":"gpt-5-mini"}]}`
	for _, tc := range []struct {
		name   string
		models []string
		want   []string
	}{
		{"no list", nil, []string{"gpt-5.5", "gpt-5.1-codex", "gpt-5-mini"}},
		{"list", []string{"gpt-5-mini", "gpt-5.1-codex", "not-offered"}, []string{"gpt-5.1-codex", "gpt-5-mini"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{Models: tc.models})
			h.up.handle = func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) { writeJSONStatus(w, 200, doc) }
			status, out := read(t, h.do("GET", "/v1/models?client_version=1", "", nil))
			var got struct {
				Data   []struct{ ID string }
				Models []map[string]any
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || status != 200 {
				t.Fatalf("%d %s", status, out)
			}
			var ids, slugs []string
			for _, d := range got.Data {
				ids = append(ids, d.ID)
			}
			for _, m := range got.Models {
				slugs = append(slugs, fmt.Sprint(m["slug"]))
			}
			// data: the kept models, then their effort-suffixed names only.
			if !slices.Equal(ids[:min(len(tc.want), len(ids))], tc.want) || !slices.Equal(slugs, tc.want) {
				t.Errorf("data %v, models %v; want %v in both", ids, slugs, tc.want)
			}
			for _, id := range ids[min(len(tc.want), len(ids)):] {
				if !slices.ContainsFunc(tc.want, func(m string) bool { return strings.HasPrefix(id, m+"-") }) {
					t.Errorf("data lists %q, which is no kept model's suffixed name", id)
				}
			}
			if tc.models != nil && !strings.Contains(out, `"extra":{"a":1}`) {
				t.Errorf("the backend's fields of a kept model were lost: %s", out)
			}
		})
	}
}

func TestProxy_KeyAccounts_BindingAndFailoverWithinTheSet(t *testing.T) {
	h, _ := controlledHarness(t, []string{"acct-a", "acct-b", "acct-c"}, KeyInfo{Accounts: []string{"acct-b", "acct-c", "acct-gone"}})
	// acct-a has the most headroom: an unbound key would get it.
	h.store.states = []AccountState{
		{Account: "acct-b", Quota: quota.Snapshot{FetchedAt: h.clock.Now(), Windows: []quota.Window{{UsedPercent: 50}}}},
		{Account: "acct-c", Quota: quota.Snapshot{FetchedAt: h.clock.Now(), Windows: []quota.Window{{UsedPercent: 60}}}},
	}
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range completedEvents(rec.Account) {
			io.WriteString(w, ev)
		}
	}
	if status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("%d %s", status, out)
	}
	if got := h.up.accounts(); !slices.Equal(got, []string{"acct-b"}) {
		t.Fatalf("served by %v, want acct-b (the bound account with the most headroom)", got)
	}

	// acct-b at its usage limit: failover to acct-c, never acct-a.
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		if rec.Account == "acct-b" {
			writeJSONStatus(w, 429, `{"error":{"type":"usage_limit_reached","message":"limit","resets_in_seconds":600}}`)
			return
		}
		serveCompleted(w, r, rec)
	}
	if status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("%d %s", status, out)
	}
	if got := h.up.accounts(); !slices.Equal(got, []string{"acct-b", "acct-b", "acct-c"}) {
		t.Fatalf("served by %v, want acct-b (429) then acct-c", got)
	}

	// Affinity stays within the set: a session pinned to acct-a by an
	// unbound key is served by a bound account for this key.
	h.proxy.pool.aff.set("sess-1", "acct-a", h.clock.Now())
	if status, out := read(t, h.do("POST", "/v1/responses", streamBody, http.Header{"Session_id": {"sess-1"}})); status != 200 {
		t.Fatalf("%d %s", status, out)
	}
	if got := h.up.accounts(); got[len(got)-1] != "acct-c" {
		t.Fatalf("session pinned to acct-a served by %v, want acct-c", got)
	}

	// Neither bound account can serve: the usual 429, though acct-a could.
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		writeJSONStatus(w, 429, `{"error":{"type":"usage_limit_reached","message":"limit","resets_in_seconds":600}}`)
	}
	resp := h.do("POST", "/v1/responses", streamBody, nil)
	status, out := read(t, resp)
	if e := openAIError(t, out); status != 429 || e.Code != "usage_limit_reached" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %s, want 429 usage_limit_reached with Retry-After", status, out)
	}
	for _, a := range h.up.accounts() {
		if a == "acct-a" {
			t.Fatalf("the bound key was served by acct-a: %v", h.up.accounts())
		}
	}
}

func TestProxy_KeyAccounts_NoneListed(t *testing.T) {
	// Every bound account was removed from the pool: 503 as with no account.
	h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{Accounts: []string{"acct-gone"}})
	status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if e := openAIError(t, out); status != 503 || e.Code != "no_available_account" {
		t.Fatalf("%d %s", status, out)
	}
	if n := len(h.up.requests()); n != 0 {
		t.Fatalf("%d requests went upstream", n)
	}
}

// holdUpstream answers every /responses request with a first event, then
// holds the stream until released.
func holdUpstream(h *harness) (started chan struct{}, release func()) {
	started = make(chan struct{}, 16)
	done := make(chan struct{})
	var once sync.Once
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		ev := completedEvents(rec.Account)
		io.WriteString(w, ev[0])
		w.(http.Flusher).Flush()
		started <- struct{}{}
		select {
		case <-done:
		case <-r.Context().Done():
			return
		}
		for _, e := range ev[1:] {
			io.WriteString(w, e)
		}
	}
	return started, func() { once.Do(func() { close(done) }) }
}

func TestProxy_KeyMaxConcurrent(t *testing.T) {
	h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{MaxConcurrent: 1})
	started, release := holdUpstream(h)
	defer release()
	first := make(chan int, 1)
	go func() {
		resp := h.do("POST", "/v1/responses", streamBody, nil)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-started
	if n := h.proxy.inflight.count("team"); n != 1 {
		t.Fatalf("%d in flight, want 1", n)
	}
	for _, tc := range []struct{ path, body string }{
		{"/v1/responses", streamBody},
		{"/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", messagesBody(true, "")},
	} {
		resp := h.do("POST", tc.path, tc.body, nil)
		status, out := read(t, resp)
		if status != 429 || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s over the cap: %d (Retry-After %q) %s", tc.path, status, resp.Header.Get("Retry-After"), out)
		}
		if tc.path == "/v1/messages" {
			if typ, _ := anthropicError(t, out); typ != "rate_limit_error" {
				t.Errorf("/v1/messages over the cap: %s, want rate_limit_error", out)
			}
		} else if e := openAIError(t, out); e.Code != "concurrency_limit_exceeded" {
			t.Errorf("%s over the cap: %s", tc.path, out)
		}
	}
	release()
	if s := <-first; s != 200 {
		t.Fatalf("first request: %d", s)
	}
	waitInflight(t, h.proxy, "team", 0)
	if status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("after the first ended: %d %s", status, out)
	}
}

func TestProxy_KeyMaxConcurrent_ReleasedOnClientDisconnect(t *testing.T) {
	h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{MaxConcurrent: 1})
	started, release := holdUpstream(h)
	defer release()
	resp, cancel := h.stream()
	<-started
	buf := make([]byte, 64)
	resp.Body.Read(buf) //nolint:errcheck // the first event arrived: the stream is relayed
	cancel()
	resp.Body.Close()
	waitInflight(t, h.proxy, "team", 0)
	release()
	if status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("after the client left: %d %s", status, out)
	}
}

func waitInflight(t *testing.T, p *Proxy, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.inflight.count(key) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight, want %d", p.inflight.count(key), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProxy_KeyControls_ChangeReachesTheCacheAndCostsNoLookup(t *testing.T) {
	h, keys := controlledHarness(t, []string{"acct-a"}, KeyInfo{Models: []string{"gpt-5-codex"}, Accounts: []string{"acct-a"}, MaxConcurrent: 4})
	for range 5 {
		if status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
			t.Fatalf("%d %s", status, out)
		}
	}
	keys.mu.Lock()
	calls := keys.calls
	keys.info.Models = []string{"gpt-5.5"}
	keys.mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d key lookups for 5 requests, want 1 (the controls come with the cached key)", calls)
	}
	h.clock.Add(h.proxy.cfg.KeyMaxStale) // past the bound: the next request reads the key again
	status, out := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if e := openAIError(t, out); status != 403 || e.Code != "model_not_allowed" {
		t.Fatalf("after the change: %d %s, want 403", status, out)
	}
}

func TestBodyModel(t *testing.T) {
	for body, want := range map[string]string{
		`{"model":"gpt-5"}`:                     "gpt-5",
		`{"input":[{"model":"x"}],"model":"a"}`: "a",
		`{"model":"g\u0070t"}`:                  "gpt",
		`{"model":5}`:                           "",
		`{}`:                                    "",
		`[`:                                     "",
	} {
		if got := bodyModel([]byte(body)); got != want {
			t.Errorf("bodyModel(%s) = %q, want %q", body, got, want)
		}
	}
}

// TestProxy_KeyModels_CheckedAfterSuffix: a key's allow-list is checked
// against the model an effort suffix resolved to.
func TestProxy_KeyModels_CheckedAfterSuffix(t *testing.T) {
	h, _ := controlledHarness(t, []string{"acct-a"}, KeyInfo{Models: []string{"gpt-5.1-codex"}})
	body := func(model string) string {
		return `{"model":"` + model + `","instructions":"x","input":[],"stream":true,"store":false}`
	}
	if status, out := read(t, h.do("POST", "/v1/responses", body("gpt-5.1-codex-high"), nil)); status != 200 {
		t.Fatalf("allowed model with a suffix: %d %s", status, out)
	}
	if m, e, _ := upstreamModel(t, h.up.requests()[0]); m != "gpt-5.1-codex" || e != "high" {
		t.Errorf("upstream %q %q", m, e)
	}
	status, out := read(t, h.do("POST", "/v1/responses", body("gpt-5-codex-high"), nil))
	if status != 403 || openAIError(t, out).Code != "model_not_allowed" || !strings.Contains(out, `\"gpt-5-codex\"`) {
		t.Errorf("other model with a suffix: %d %s", status, out)
	}
}
