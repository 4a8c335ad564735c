package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const nonStreamBody = `{"model":"m","instructions":"x","input":[],"stream":false,"store":false}`

// slowUpstream starts a stream at once and finishes it (with last) only
// when release is closed: a long Codex turn.
func slowUpstream(release <-chan struct{}, last string) func(http.ResponseWriter, *http.Request, upstreamRecord) {
	return func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		evs := completedEvents(rec.Account)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("x-codex-primary-used-percent", "42")
		io.WriteString(w, evs[0])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, evs[1])
		if last == "" {
			last = evs[2]
		}
		io.WriteString(w, last)
	}
}

// headersBefore posts a non-streaming request and returns the response as
// soon as its headers arrive, which must happen while the upstream still
// holds the answer back (release open). Generous limit: a loaded machine.
func headersBefore(t *testing.T, h *harness, release chan struct{}) *http.Response {
	t.Helper()
	got := make(chan *http.Response, 1)
	go func() { got <- h.do("POST", "/v1/responses", nonStreamBody, nil) }()
	select {
	case resp := <-got:
		return resp
	case <-time.After(30 * time.Second):
		close(release) // let the request finish so the test can end
		resp := <-got
		resp.Body.Close()
		t.Fatal("no status or headers while the upstream was still working")
		return nil
	}
}

// TestProxy_ServeHTTP_NonStreamKeepAlive: a non-streaming answer that takes
// long gets its status, headers and whitespace before the upstream has
// finished, and the whole body is still one valid JSON document.
func TestProxy_ServeHTTP_NonStreamKeepAlive(t *testing.T) {
	h := newHarness(t, []string{"a"})
	h.proxy.hold = holdTiming{after: 20 * time.Millisecond, every: 20 * time.Millisecond}
	release := make(chan struct{})
	h.up.handle = slowUpstream(release, "")

	resp := headersBefore(t, h, release)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != -1 {
		t.Fatalf("early headers: %d %q length %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	if got := resp.Header.Get("x-codex-primary-used-percent"); got != "42" {
		t.Errorf("upstream quota header = %q on an early commit", got)
	}
	// At least two keep-alive bytes arrive while the upstream still holds
	// the answer back.
	first := make([]byte, 2)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("read keep-alive bytes: %v", err)
	}
	if string(first) != "\n\n" {
		t.Fatalf("first bytes = %q, want whitespace", first)
	}
	select {
	case <-release:
		t.Fatal("upstream completed before the test released it")
	default:
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := append(first, rest...)
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj["object"] != "response" || obj["status"] != "completed" {
		t.Fatalf("body is not the completed response as JSON (%v): %q", err, body)
	}
	if trimmed := bytes.TrimLeft(body, "\n"); !bytes.HasPrefix(trimmed, []byte("{")) {
		t.Errorf("only whitespace may precede the document: %q", body)
	}
}

// Negative control: without the keep-alive (it would start only after an
// hour) the client gets nothing, not even the status, while the upstream
// is working.
func TestProxy_ServeHTTP_NonStreamWithoutKeepAliveWaits(t *testing.T) {
	h := newHarness(t, []string{"a"})
	h.proxy.hold = holdTiming{after: time.Hour, every: time.Hour}
	release := make(chan struct{})
	h.up.handle = slowUpstream(release, "")

	got := make(chan *http.Response, 1)
	go func() { got <- h.do("POST", "/v1/responses", nonStreamBody, nil) }()
	select {
	case resp := <-got:
		resp.Body.Close()
		t.Fatalf("headers arrived (%d) before the upstream completed", resp.StatusCode)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	resp := <-got
	status, body := read(t, resp)
	if status != 200 || resp.ContentLength != int64(len(body)) || strings.HasPrefix(body, "\n") {
		t.Errorf("a quick answer: %d, length %d, body %q", status, resp.ContentLength, body)
	}
}

// A turn that fails after the early commit cannot change the status any
// more: the error arrives as an OpenAI error document in the 200 body.
func TestProxy_ServeHTTP_NonStreamKeepAliveThenFailure(t *testing.T) {
	h := newHarness(t, []string{"a"})
	h.proxy.hold = holdTiming{after: 10 * time.Millisecond, every: 10 * time.Millisecond}
	release := make(chan struct{})
	failed := sseEvent("response.failed", map[string]any{"type": "response.failed",
		"response": map[string]any{"error": map[string]any{"code": "context_length_exceeded", "message": "Your input exceeds the context window."}}})
	h.up.handle = slowUpstream(release, failed)

	resp := headersBefore(t, h, release)
	b := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, b); err != nil || b[0] != '\n' {
		t.Fatalf("first byte %q, %v", b, err)
	}
	close(release)
	status, body := read(t, resp)
	if status != 200 {
		t.Fatalf("status %d after an early commit", status)
	}
	if e := openAIError(t, strings.TrimLeft(body, "\n")); e.Code != "context_length_exceeded" {
		t.Errorf("error = %+v", e)
	}
	if !strings.Contains(h.logText(), "exceeds the context window") {
		t.Errorf("the failure is not in the log:\n%s", h.logText())
	}
}
