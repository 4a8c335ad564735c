package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

func TestProxy_ServeHTTP_Routing(t *testing.T) {
	h := newHarness(t, []string{"a"})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantPath   string // upstream path, "" = no upstream call
		wantAllow  string
		wantCode   string
	}{
		{"responses", "POST", "/v1/responses", streamBody, 200, "/backend-api/codex/responses", "", ""},
		{"responses trailing slash", "POST", "/v1/responses/", streamBody, 200, "/backend-api/codex/responses", "", ""},
		{"compact", "POST", "/v1/responses/compact", `{"model":"m","input":[]}`, 200, "/backend-api/codex/responses/compact", "", ""},
		{"models", "GET", "/v1/models?client_version=0.169.0", "", 200, "/backend-api/codex/models", "", ""},
		{"models trailing slash", "GET", "/v1/models/", "", 200, "/backend-api/codex/models", "", ""},
		{"responses GET", "GET", "/v1/responses", "", 405, "", "POST", "method_not_allowed"},
		{"models POST", "POST", "/v1/models", "{}", 405, "", "GET", "method_not_allowed"},
		{"chat completions GET", "GET", "/v1/chat/completions", "", 405, "", "POST", "method_not_allowed"},
		{"chat completions, not JSON", "POST", "/v1/chat/completions", "{", 400, "", "", "invalid_json"},
		{"chat completions, refused", "POST", "/v1/chat/completions", `{"model":"m","n":3,"messages":[{"role":"user","content":"hi"}]}`, 400, "", "", "unsupported_value"},
		{"unknown", "GET", "/v1/completions", "", 404, "", "", "unknown_url"},
		{"root", "GET", "/", "", 404, "", "", "unknown_url"},
		{"upstream path not reachable", "GET", "/backend-api/codex/models", "", 404, "", "", "unknown_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.up.requests())
			status, body := read(t, h.do(tt.method, tt.path, tt.body, nil))
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", status, tt.wantStatus, body)
			}
			reqs := h.up.requests()[before:]
			if tt.wantPath == "" {
				if len(reqs) != 0 {
					t.Fatalf("upstream called: %+v", reqs)
				}
				if e := openAIError(t, body); e.Code != tt.wantCode {
					t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
				}
				return
			}
			if len(reqs) != 1 || reqs[0].Path != tt.wantPath {
				t.Fatalf("upstream requests = %+v, want one to %s", reqs, tt.wantPath)
			}
		})
	}
	t.Run("query passed to models only", func(t *testing.T) {
		before := len(h.up.requests())
		read(t, h.do("GET", "/v1/models?client_version=0.169.0", "", nil))
		read(t, h.do("POST", "/v1/responses?evil=1", streamBody, nil))
		reqs := h.up.requests()[before:]
		if reqs[0].Query != "client_version=0.169.0" || reqs[1].Query != "" {
			t.Errorf("queries = %q, %q", reqs[0].Query, reqs[1].Query)
		}
	})
	t.Run("405 sets Allow", func(t *testing.T) {
		resp := h.do("DELETE", "/v1/responses", "", nil)
		read(t, resp)
		if got := resp.Header.Get("Allow"); got != "POST" {
			t.Errorf("Allow = %q", got)
		}
	})
}

func TestProxy_ServeHTTP_ClientAuth(t *testing.T) {
	h := newHarness(t, []string{"a"})
	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
	}{
		{"no key", http.Header{"Authorization": nil}, 401},
		{"wrong bearer", http.Header{"Authorization": {"Bearer cg-wrong"}}, 401},
		{"basic scheme", http.Header{"Authorization": {"Basic " + testKey}}, 401},
		{"wrong x-api-key", http.Header{"Authorization": nil, "X-Api-Key": {"cg-wrong"}}, 401},
		{"bearer", nil, 200},
		{"lowercase bearer", http.Header{"Authorization": {"bearer " + testKey}}, 200},
		{"x-api-key", http.Header{"Authorization": nil, "X-Api-Key": {testKey}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.up.requests())
			status, body := read(t, h.do("POST", "/v1/responses", streamBody, tt.header))
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", status, tt.wantStatus, body)
			}
			if status == 401 {
				e := openAIError(t, body)
				if e.Code != "invalid_api_key" || e.Type != "invalid_request_error" {
					t.Errorf("error = %+v", e)
				}
				if n := len(h.up.requests()) - before; n != 0 {
					t.Errorf("upstream saw %d requests for a bad key", n)
				}
			}
		})
	}
	for _, r := range h.up.requests() {
		for k, vv := range r.Header {
			for _, v := range vv {
				if strings.Contains(v, testKey) || strings.Contains(v, "cg-wrong") {
					t.Errorf("client key reached upstream in %s", k)
				}
			}
		}
		if bytes.Contains(r.Body, []byte(testKey)) {
			t.Error("client key reached upstream in the body")
		}
	}
	if logs := h.logText(); strings.Contains(logs, testKey) || strings.Contains(logs, "cg-wrong") {
		t.Errorf("key in logs:\n%s", logs)
	}
	if !strings.Contains(h.logText(), "key=laptop") {
		t.Errorf("key name missing from logs:\n%s", h.logText())
	}
}

func TestProxy_ServeHTTP_KeyCache(t *testing.T) {
	h := newHarness(t, []string{"a"})
	read(t, h.do("GET", "/v1/models", "", nil))
	read(t, h.do("GET", "/v1/models", "", nil))
	if n := h.keys.count(); n != 1 {
		t.Fatalf("verifier calls within the TTL = %d, want 1", n)
	}
	// Revoke: the cached key keeps working within the TTL; past it, the
	// next request is still served from the cache and re-checks the key in
	// the background, after which it is refused.
	h.keys.mu.Lock()
	delete(h.keys.keys, testKey)
	h.keys.mu.Unlock()
	if status, _ := read(t, h.do("GET", "/v1/models", "", nil)); status != 200 {
		t.Fatalf("within TTL: status %d", status)
	}
	h.clock.Add(DefaultKeyCacheTTL + time.Second)
	if status, _ := read(t, h.do("GET", "/v1/models", "", nil)); status != 200 {
		t.Fatalf("after TTL, before the re-check: status %d, want 200 from the cache", status)
	}
	h.proxy.keys.waitChecks()
	if status, _ := read(t, h.do("GET", "/v1/models", "", nil)); status != 401 {
		t.Fatalf("after the re-check: status %d, want 401", status)
	}
	// A store failure is 503 and is not cached. (The key was just rejected:
	// that answer is remembered for rejectTTL.)
	h.keys.mu.Lock()
	h.keys.keys[testKey] = "laptop"
	h.keys.err = errBoom
	h.keys.mu.Unlock()
	h.clock.Add(rejectTTL)
	status, body := read(t, h.do("GET", "/v1/models", "", nil))
	if status != 503 || strings.Contains(body, "boom") {
		t.Fatalf("store failure: %d %s", status, body)
	}
	h.keys.mu.Lock()
	h.keys.err = nil
	h.keys.mu.Unlock()
	if status, _ := read(t, h.do("GET", "/v1/models", "", nil)); status != 200 {
		t.Fatalf("after store recovery: %d", status)
	}
	h.keys.mu.Lock()
	defer h.keys.mu.Unlock()
	for _, k := range h.proxy.keys.m {
		if k.name != "laptop" {
			t.Errorf("cache entry %+v", k)
		}
	}
}

func TestProxy_ServeHTTP_Body(t *testing.T) {
	h := newHarness(t, []string{"a"}, func(c *Config) { c.MaxBodyBytes = 1024 })
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(streamBody))
	zw.Close()
	var bomb bytes.Buffer
	zw = gzip.NewWriter(&bomb)
	zw.Write([]byte(`{"input":"` + strings.Repeat("a", 4096) + `"}`))
	zw.Close()
	tests := []struct {
		name       string
		body       string
		header     http.Header
		wantStatus int
		wantCode   string
	}{
		{"oversized", `{"input":"` + strings.Repeat("x", 2000) + `"}`, nil, 413, "request_too_large"},
		{"malformed", `{"model":`, nil, 400, "invalid_json"},
		{"not an object", `[1,2]`, nil, 400, "invalid_json"},
		{"trailing garbage", `{} {}`, nil, 400, "invalid_json"},
		{"empty", ``, nil, 400, "invalid_json"},
		{"gzip", gz.String(), http.Header{"Content-Encoding": {"gzip"}}, 200, ""},
		{"gzip bomb", bomb.String(), http.Header{"Content-Encoding": {"gzip"}}, 413, "request_too_large"},
		{"br", streamBody, http.Header{"Content-Encoding": {"br"}}, 415, "unsupported_content_encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.up.requests())
			status, body := read(t, h.do("POST", "/v1/responses", tt.body, tt.header))
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", status, tt.wantStatus, body)
			}
			if tt.wantCode == "" {
				if got := h.up.requests()[before:]; len(got) != 1 || string(got[0].Body) != streamBody {
					t.Fatalf("upstream got %+v", got)
				}
				return
			}
			if e := openAIError(t, body); e.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
			}
			if n := len(h.up.requests()) - before; n != 0 {
				t.Errorf("upstream saw %d requests", n)
			}
		})
	}
}

func TestProxy_ServeHTTP_Headers(t *testing.T) {
	h := newHarness(t, []string{"a"})
	in := http.Header{
		"Session_id":                {"sess-1"},
		"Conversation_id":           {"conv-1"},
		"Openai-Beta":               {"responses=experimental"},
		"Version":                   {"0.169.0"},
		"X-Codex-Turn-Meta":         {"t1"},
		"Cookie":                    {"a=b"},
		"Chatgpt-Account-Id":        {"client-chosen"},
		"X-Forwarded-For":           {"203.0.113.9"},
		"X-Forwarded-Proto":         {"https"},
		"Forwarded":                 {"for=203.0.113.9"},
		"X-Real-Ip":                 {"203.0.113.9"},
		"Via":                       {"1.1 cloudfront"},
		"X-Amzn-Trace-Id":           {"Root=1-abc"},
		"X-Amz-Cf-Id":               {"cf"},
		"Cf-Connecting-Ip":          {"203.0.113.9"},
		"Cf-Ray":                    {"ray"},
		"Cloudfront-Viewer-Country": {"DE"},
		"Traceparent":               {"00-abc-def-01"},
		"Tracestate":                {"x=y"},
		"Connection":                {"keep-alive, X-Hop"},
		"X-Hop":                     {"named by Connection"},
		"Accept":                    {"*/*"},
		"User-Agent":                {""}, // Go's client sends none then
	}
	read(t, h.do("POST", "/v1/responses", streamBody, in))
	got := h.up.requests()[0].Header
	for _, k := range []string{"Cookie", "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip", "Via",
		"X-Amzn-Trace-Id", "X-Amz-Cf-Id", "Cf-Connecting-Ip", "Cf-Ray", "Cloudfront-Viewer-Country", "Traceparent",
		"Tracestate", "X-Hop", "X-Api-Key"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s reached upstream: %q", k, v)
		}
	}
	want := map[string]string{
		"Authorization":      "Bearer tok-a-0",
		"Chatgpt-Account-Id": "chatgpt-a",
		"Originator":         codexOriginator,
		"User-Agent":         codexUserAgent,
		"Accept":             "text/event-stream",
		"Content-Type":       "application/json",
		"Session_id":         "sess-1",
		"Conversation_id":    "conv-1",
		"Openai-Beta":        "responses=experimental",
		"Version":            "0.169.0",
		"X-Codex-Turn-Meta":  "t1",
	}
	for k, v := range want {
		if g := got.Values(k); len(g) != 1 || g[0] != v {
			t.Errorf("upstream %s = %q, want %q", k, g, v)
		}
	}
	t.Run("client identity kept", func(t *testing.T) {
		read(t, h.do("POST", "/v1/responses", streamBody, http.Header{"Originator": {"codex_exec"}, "User-Agent": {"codex_exec/0.169.0"}}))
		reqs := h.up.requests()
		got := reqs[len(reqs)-1].Header
		if got.Get("Originator") != "codex_exec" || got.Get("User-Agent") != "codex_exec/0.169.0" {
			t.Errorf("originator/user-agent = %q/%q", got.Get("Originator"), got.Get("User-Agent"))
		}
	})
	t.Run("response headers", func(t *testing.T) {
		resp := h.do("POST", "/v1/responses", streamBody, nil)
		read(t, resp)
		if resp.Header.Get("X-Codex-Primary-Used-Percent") != "10" {
			t.Errorf("x-codex headers not passed: %v", resp.Header)
		}
		if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Cf-Ray") != "" {
			t.Errorf("upstream cookies/CDN headers passed: %v", resp.Header)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	})
}

func TestProxy_ServeHTTP_NonStreamAggregation(t *testing.T) {
	h := newHarness(t, []string{"a"})
	for _, body := range []string{
		`{"model":"m","instructions":"x","input":[],"stream":false,"store":false}`,
		`{"model":"m","instructions":"x","input":[]}`,
	} {
		resp := h.do("POST", "/v1/responses", body, nil)
		status, out := read(t, resp)
		if status != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, type %q: %s", status, resp.Header.Get("Content-Type"), out)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); err != nil || obj["object"] != "response" || obj["status"] != "completed" {
			t.Fatalf("not the completed response object: %s", out)
		}
		reqs := h.up.requests()
		var sent map[string]any
		json.Unmarshal(reqs[len(reqs)-1].Body, &sent)
		if sent["stream"] != true || sent["store"] != false || sent["model"] != "m" {
			t.Errorf("upstream body = %s", reqs[len(reqs)-1].Body)
		}
	}
	t.Run("failed stream", func(t *testing.T) {
		h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte(sseEvent("response.created", map[string]any{"type": "response.created"})))
			w.Write([]byte(sseEvent("response.failed", map[string]any{"type": "response.failed",
				"response": map[string]any{"error": map[string]any{"code": "context_length_exceeded", "message": "Your input exceeds the context window."}}})))
		}
		status, out := read(t, h.do("POST", "/v1/responses", `{"model":"m","input":[]}`, nil))
		if status != 400 {
			t.Fatalf("status %d: %s", status, out)
		}
		if e := openAIError(t, out); e.Code != "context_length_exceeded" {
			t.Errorf("error = %+v", e)
		}
	})
	t.Run("cut stream", func(t *testing.T) {
		h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte(sseEvent("response.created", map[string]any{"type": "response.created"})))
		}
		status, out := read(t, h.do("POST", "/v1/responses", `{"model":"m","input":[]}`, nil))
		if status != 502 || openAIError(t, out).Code != "upstream_stream_error" {
			t.Fatalf("status %d: %s", status, out)
		}
	})
}

// The Codex backend rejects a request without "stream":true, "store":false
// or non-empty instructions; Codex CLI with a custom provider sends no
// instructions. The proxy fills what is missing and keeps what is there.
func TestProxy_ServeHTTP_BackendRequiredFields(t *testing.T) {
	h := newHarness(t, []string{"a"})
	for _, tt := range []struct {
		name, body       string
		wantInstructions string
	}{
		{"complete", `{"model":"m","instructions":"mine","input":[],"stream":true,"store":false}`, "mine"},
		{"no instructions", `{"model":"m","input":[],"stream":true,"store":false}`, responses.PassthroughInstructions},
		{"empty instructions", `{"model":"m","instructions":"","input":[],"stream":true}`, responses.PassthroughInstructions},
		{"null instructions", `{"model":"m","instructions":null,"input":[],"stream":true}`, responses.PassthroughInstructions},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, out := read(t, h.do("POST", "/v1/responses", tt.body, nil)); status != 200 {
				t.Fatalf("status %d: %s", status, out)
			}
			reqs := h.up.requests()
			var sent map[string]any
			if err := json.Unmarshal(reqs[len(reqs)-1].Body, &sent); err != nil {
				t.Fatal(err)
			}
			if sent["stream"] != true || sent["store"] != false || sent["instructions"] != tt.wantInstructions {
				t.Errorf("upstream body = %s", reqs[len(reqs)-1].Body)
			}
		})
	}
}

// A rejected key is answered from memory for rejectTTL: a client retrying
// a wrong key costs one store read, not one per request. A key that becomes
// valid meanwhile works once rejectTTL has passed.
func TestProxy_ServeHTTP_RejectedKeyCached(t *testing.T) {
	h := newHarness(t, []string{"a"})
	wrong := http.Header{"Authorization": {"Bearer cg-wrong-key"}}
	for range 5 {
		if status, body := read(t, h.do("GET", "/v1/models", "", wrong)); status != 401 || openAIError(t, body).Code != "invalid_api_key" {
			t.Fatalf("wrong key: %d %s", status, body)
		}
	}
	if n := h.keys.count(); n != 1 {
		t.Fatalf("verifier calls for one wrong key repeated 5 times = %d, want 1", n)
	}
	h.keys.mu.Lock()
	h.keys.keys["cg-wrong-key"] = "late"
	h.keys.mu.Unlock()
	if status, _ := read(t, h.do("GET", "/v1/models", "", wrong)); status != 401 {
		t.Fatalf("within rejectTTL: %d, want 401 from memory", status)
	}
	h.clock.Add(rejectTTL)
	if status, _ := read(t, h.do("GET", "/v1/models", "", wrong)); status != 200 {
		t.Fatalf("after rejectTTL: %d, want 200 for the key created meanwhile", status)
	}
	if n := h.keys.count(); n != 2 {
		t.Errorf("verifier calls = %d, want 2", n)
	}
	// Another wrong key is looked up on its own.
	read(t, h.do("GET", "/v1/models", "", http.Header{"Authorization": {"Bearer cg-other-wrong"}}))
	if n := h.keys.count(); n != 3 {
		t.Errorf("verifier calls = %d, want 3", n)
	}
}

// blockingWriter holds every write until released: a log destination that
// drains slowly (a pipe whose reader is busy).
type blockingWriter struct{ release chan struct{} }

func (b blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return len(p), nil
}

// The answer ends without waiting for the request's log line; Wait (the
// end of a Lambda invocation, serve's shutdown) waits for it. Written
// inside the handler, the line would hold the end of every streamed answer
// until the log takes it.
func TestProxy_ServeHTTP_AnswerEndsBeforeItsLogLine(t *testing.T) {
	bw := blockingWriter{release: make(chan struct{})}
	h := newHarness(t, []string{"a"}, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(bw, nil)) })
	got := make(chan string, 1)
	go func() {
		_, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
		got <- body
	}()
	select {
	case body := <-got:
		if !strings.Contains(body, "response.completed") {
			t.Fatalf("answer %q", body)
		}
	case <-time.After(30 * time.Second):
		close(bw.release)
		t.Fatal("the answer did not end while its log line was blocked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.proxy.Wait(ctx); err == nil {
		t.Fatal("Wait returned while a log line was still blocked")
	}
	close(bw.release)
	if err := h.proxy.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after the line was written: %v", err)
	}
}

// Each request leaves one line: what, for whom, on which account, how it
// ended; a failure is a warning that says why.
func TestProxy_ServeHTTP_RequestLogLine(t *testing.T) {
	h := newHarness(t, []string{"a"})
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	re := regexp.MustCompile(`level=INFO msg=request method=POST path=/v1/responses status=200 key=laptop account=a attempts=1 duration=\S+\n`)
	if logs := h.logText(); len(re.FindAllString(logs, -1)) != 1 {
		t.Fatalf("want one request line matching %s:\n%s", re, logs)
	}
	h.up.handle = func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
		writeJSONStatus(w, 500, `{"error":{"type":"server_error"}}`)
	}
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	warn := regexp.MustCompile(`level=WARN msg=request method=POST path=/v1/responses status=5\d\d key=laptop account=a attempts=\d+ duration=\S+ error=`)
	if logs := h.logText(); !warn.MatchString(logs) {
		t.Fatalf("want a warning line matching %s:\n%s", warn, logs)
	}
}
