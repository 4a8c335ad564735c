package proxy

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/sse"
)

func TestProxy_ServeHTTP_NoReplayAfterFirstByte(t *testing.T) {
	tests := []struct {
		name string
		cut  func(w http.ResponseWriter)
	}{
		{"connection dropped mid-event", func(w http.ResponseWriter) {
			io.WriteString(w, "event: response.output_text.delta\ndata: {\"type\":\"response.outp")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}},
		{"clean end without a terminal event", func(w http.ResponseWriter) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []string{"a", "b"})
			evs := completedEvents("a")
			h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, evs[0])
				io.WriteString(w, evs[1])
				w.(http.Flusher).Flush()
				tt.cut(w)
			}
			status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			want := evs[0] + evs[1] + "event: error\ndata: "
			if !strings.HasPrefix(body, want) {
				t.Fatalf("body = %q, want prefix %q", body, want)
			}
			ev := sse.Parse([]byte(strings.TrimPrefix(body, evs[0]+evs[1])))
			e := parseUpstreamError(ev.Data)
			if ev.Name != "error" || e.Type != "server_error" || e.Code != "upstream_stream_error" || !strings.HasSuffix(body, "\n\n") {
				t.Errorf("error event = %q", body[len(evs[0]+evs[1]):])
			}
			if n := len(h.up.requests()); n != 1 {
				t.Errorf("upstream requests = %d, want exactly 1 (no replay)", n)
			}
		})
	}
}

func TestProxy_ServeHTTP_FlushesEachEvent(t *testing.T) {
	h := newHarness(t, []string{"a"})
	release := make(chan struct{})
	done := make(chan struct{})
	evs := completedEvents("a")
	slow := slowUpstream(release, "")
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		defer close(done)
		slow(w, r, rec)
	}
	resp := h.do("POST", "/v1/responses", streamBody, nil)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	got := make(chan string, 1)
	go func() {
		var sb strings.Builder
		for !strings.HasSuffix(sb.String(), "\n\n") {
			line, err := br.ReadString('\n')
			sb.WriteString(line)
			if err != nil {
				break
			}
		}
		got <- sb.String()
	}()
	select {
	case first := <-got:
		if first != evs[0] {
			t.Fatalf("first event = %q, want %q", first, evs[0])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not reach the client while the upstream was still streaming")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != evs[1]+evs[2] {
		t.Errorf("rest = %q", rest)
	}
	<-done
}

func TestProxy_ServeHTTP_ClientGoneCancelsUpstream(t *testing.T) {
	h := newHarness(t, []string{"a"})
	cancelled := make(chan struct{})
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, completedEvents("a")[0])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	}
	resp, cancel := h.stream()
	bufio.NewReader(resp.Body).ReadString('\n')
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request not cancelled after the client went away")
	}
}

func TestProxy_ServeHTTP_SessionAffinity(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	used := map[string]string{} // account → primary used percent it reports
	used["a"], used["b"] = "10", "50"
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("x-codex-primary-used-percent", used[rec.Account])
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range completedEvents(rec.Account) {
			io.WriteString(w, ev)
		}
	}
	send := func(session string, viaBody bool) string {
		t.Helper()
		body, hdr := streamBody, http.Header{}
		if viaBody {
			body = `{"model":"m","instructions":"x","input":[],"stream":true,"store":false,"prompt_cache_key":"` + session + `"}`
		} else if session != "" {
			hdr.Set("Session_id", session)
		}
		before := len(h.up.requests())
		if status, b := read(t, h.do("POST", "/v1/responses", body, hdr)); status != 200 {
			t.Fatalf("status %d: %s", status, b)
		}
		return h.up.accounts()[before]
	}
	// Unknown quota everywhere: name order. The answers teach the pool
	// that a has 90% headroom, b 50%.
	if got := send("s1", false); got != "a" {
		t.Fatalf("s1 first on %s", got)
	}
	send("", false) // no session: still a (more headroom)
	used["a"] = "80"
	send("", false) // a now reports 80%: b has more headroom for new conversations
	if got := send("s2", false); got != "b" {
		t.Fatalf("new conversation s2 on %s, want b (more headroom)", got)
	}
	if got := send("s1", false); got != "a" {
		t.Fatalf("s1 moved to %s while a is healthy", got)
	}
	if got := send("pck-1", true); got != "b" {
		t.Fatalf("prompt_cache_key conversation on %s", got)
	}
	used["b"] = "95"
	send("", false) // b now reports 95%
	if got := send("pck-1", true); got != "b" {
		t.Fatalf("prompt_cache_key conversation moved to %s", got)
	}
	// a becomes unusable: s1 moves to b and stays there afterwards.
	h.proxy.pool.cooldown(context.Background(), "a", h.clock.Now().Add(time.Minute), quota.CooldownUnauthorized)
	if got := send("s1", false); got != "b" {
		t.Fatalf("s1 on %s while a cools down", got)
	}
	h.clock.Add(2 * time.Minute)
	if got := send("s1", false); got != "b" {
		t.Fatalf("s1 went back to %s after the cooldown; affinity should stick to b", got)
	}
}

func TestProxy_ServeHTTP_HeadroomFromSnapshots(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"})
	now := h.clock.Now()
	h.store.states = []AccountState{
		{Account: "a", Quota: quota.Snapshot{FetchedAt: now, Windows: []quota.Window{{UsedPercent: 70, ResetAt: now.Add(time.Hour)}, {UsedPercent: 10}}}},
		// b's 90% window has already reset: it counts as unused.
		{Account: "b", Quota: quota.Snapshot{FetchedAt: now, Windows: []quota.Window{{UsedPercent: 90, ResetAt: now.Add(-time.Minute)}, {UsedPercent: 20}}}},
		{Account: "c", Quota: quota.Snapshot{FetchedAt: now, LimitReached: true, Windows: []quota.Window{{UsedPercent: 100, ResetAt: now.Add(time.Hour)}}}},
	}
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) { // no quota headers
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range completedEvents(rec.Account) {
			io.WriteString(w, ev)
		}
	}
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if got := h.up.accounts(); len(got) != 1 || got[0] != "b" {
		t.Fatalf("picked %v, want b (80%% headroom)", got)
	}
}

func TestProxy_ServeHTTP_WarmRequestMakesNoStoreCalls(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	// Let the first (synchronous) load settle.
	lists, loads, _ := h.store.calls()
	keys := h.keys.count()
	for range 5 {
		if status, _ := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
			t.Fatal("request failed")
		}
	}
	l2, s2, _ := h.store.calls()
	if l2 != lists || s2 != loads || h.keys.count() != keys {
		t.Fatalf("warm requests made store calls: lists %d→%d, state loads %d→%d, key lookups %d→%d",
			lists, l2, loads, s2, keys, h.keys.count())
	}
	if lists != 1 || loads != 1 || keys != 1 {
		t.Errorf("cold request: %d lists, %d loads, %d key lookups; want 1 each", lists, loads, keys)
	}
	// Stale: the next request triggers one background reload and is
	// served from the old data meanwhile.
	h.clock.Add(DefaultAccountsRefresh + time.Second)
	h.store.mu.Lock()
	h.store.names = []string{"b"}
	h.store.mu.Unlock()
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, _, _ := h.store.calls(); l == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := h.proxy.pool.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	for h.proxy.pool.isLoading() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	before := len(h.up.requests())
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if got := h.up.accounts()[before:]; got[0] != "b" {
		t.Errorf("after reload, request went to %v; want b (a was removed)", got)
	}
}

func TestProxy_ServeHTTP_PoolUnavailable(t *testing.T) {
	h := newHarness(t, []string{"a"})
	h.store.listErr = errBoom
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 503 || openAIError(t, body).Code != "accounts_unavailable" || strings.Contains(body, "boom") {
		t.Fatalf("status %d: %s", status, body)
	}
	h.store.mu.Lock()
	h.store.listErr = nil
	h.store.mu.Unlock()
	if status, _ := read(t, h.do("POST", "/v1/responses", streamBody, nil)); status != 200 {
		t.Fatalf("after recovery: %d", status)
	}
}

// blockingTokens waits for the request's context: a refresh that outlives
// the Lambda's remaining time.
type blockingTokens struct{}

func (blockingTokens) AccessToken(ctx context.Context, _ string, _ codex.AccessOptions) (codex.Credentials, error) {
	<-ctx.Done()
	return codex.Credentials{}, ctx.Err()
}

func TestProxy_ServeHTTP_DeadlineBeforeAnswer(t *testing.T) {
	h := newHarness(t, []string{"a"}, func(c *Config) { c.Tokens = blockingTokens{} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", "/v1/responses", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	h.proxy.ServeHTTP(rec, req)
	if rec.Code != 504 || openAIError(t, rec.Body.String()).Code != "timeout" {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

func TestProxy_ServeHTTP_ClientErrorPassesThrough(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	h.up.handle = func(w http.ResponseWriter, _ *http.Request, _ upstreamRecord) {
		writeJSONStatus(w, 400, `{"detail":"Instructions are required"}`)
	}
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 400 || body != `{"detail":"Instructions are required"}` {
		t.Fatalf("%d %s", status, body)
	}
	if n := len(h.up.requests()); n != 1 {
		t.Errorf("upstream requests = %d, want 1 (a client error is not retried elsewhere)", n)
	}
}

// The reader looks at every event it splits for a terminal one; on the
// deltas that make up almost all of a turn that look must not allocate.
func TestSSEReader_SeeEvent_DeltasNoAllocs(t *testing.T) {
	evs := completedEvents("a")
	delta := []byte(evs[1])
	var s sseReader
	see := func(ev []byte) { s.SeeEvent(sse.Name(ev), ev) }
	if n := testing.AllocsPerRun(100, func() { see(delta) }); n != 0 {
		t.Errorf("SeeEvent allocates %v times per delta, want 0", n)
	}
	if s.terminal {
		t.Fatal("a delta ends the stream")
	}
	see([]byte(evs[2]))
	if !s.terminal {
		t.Fatal("response.completed does not end the stream")
	}
}
