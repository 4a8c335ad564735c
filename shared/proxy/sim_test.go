package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/sse"
)

type simHarness struct {
	t      testing.TB
	sim    *openaisim.Sim
	leases *codexmem.Leaser
	store  *fakeStore
	usage  *usageLog
	p      *Proxy
	srv    *httptest.Server
}

func newSimHarness(t testing.TB, accounts ...string) *simHarness {
	t.Helper()
	return newSimHarnessWith(t, nil, accounts...)
}

// newSimHarnessWith is newSimHarness with adjust changing the Config first.
func newSimHarnessWith(t testing.TB, adjust func(*Config), accounts ...string) *simHarness {
	t.Helper()
	sim := openaisim.New(openaisim.Options{})
	up := httptest.NewServer(sim)
	t.Cleanup(up.Close)
	// The real refresh routine, on the token store and lease in memory and
	// the simulator's token endpoint.
	secrets := codexmem.NewStore()
	leases := codexmem.NewLeaser(time.Now)
	toks := codex.NewRefresher(secrets, leases,
		&codex.OAuthClient{TokenURL: up.URL + "/oauth/token", HTTPClient: up.Client()}, codex.WithLogger(slog.New(slog.DiscardHandler)))
	for _, a := range accounts {
		auth, err := codex.ParseAuthFile(a, sim.AuthJSON(sim.AddAccount(openaisim.Account{ID: a})))
		if err != nil {
			t.Fatal(err)
		}
		secrets.Seed(a, auth)
	}
	store := &fakeStore{names: accounts}
	usage := &usageLog{}
	cfg := Config{
		UpstreamURL: up.URL + "/backend-api/codex",
		Tokens:      toks,
		Keys: KeyVerifierFunc(func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "sim", nil
			}
			return "", ErrInvalidKey
		}),
		Accounts: store,
		States:   store,
		Usage:    usage,
		Logger:   slog.New(slog.DiscardHandler),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	usage.flush = p.Wait
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return &simHarness{t: t, sim: sim, leases: leases, store: store, usage: usage, p: p, srv: srv}
}

const simBody = `{"model":"gpt-5-codex","instructions":"You are Codex.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true,"store":false}`

func (h *simHarness) post(path, body string, hdr http.Header) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// answerOf collects the output_text deltas of a stream.
func answerOf(stream string) (string, bool) {
	var sb strings.Builder
	completed := false
	for _, raw := range strings.SplitAfter(stream, "\n\n") {
		ev := sse.Parse([]byte(raw))
		switch ev.Name {
		case "response.output_text.delta":
			var d struct{ Delta string }
			json.Unmarshal(ev.Data, &d)
			sb.WriteString(d.Delta)
		case "response.completed":
			completed = true
		}
	}
	return sb.String(), completed
}

func TestProxy_Simulator(t *testing.T) {
	h := newSimHarness(t, "acct-a", "acct-b")

	resp, body := h.post("/v1/responses", simBody, http.Header{"Session_id": {"s1"}})
	answer, done := answerOf(body)
	if resp.StatusCode != 200 || !done || answer != openaisim.DefaultAnswer {
		t.Fatalf("stream: %d completed=%v answer %q\n%s", resp.StatusCode, done, answer, body)
	}
	if resp.Header.Get("X-Codex-Primary-Used-Percent") == "" {
		t.Errorf("x-codex headers missing: %v", resp.Header)
	}

	t.Run("expired access token: one refresh, one replay", func(t *testing.T) {
		h.sim.ResetStats()
		h.sim.ExpireAccessTokens("acct-a")
		resp, body := h.post("/v1/responses", simBody, http.Header{"Session_id": {"s1"}})
		if _, done := answerOf(body); resp.StatusCode != 200 || !done {
			t.Fatalf("%d: %s", resp.StatusCode, body)
		}
		st := h.sim.Stats()
		if st.Refreshes != 1 || st.ReuseRejections != 0 || st.Unauthorized != 1 || st.ResponsesComplete != 1 {
			t.Errorf("stats = %+v", st)
		}
		if st.Accounts["acct-a"].ResponsesOK != 1 {
			t.Errorf("session s1 left acct-a: %+v", st.Accounts)
		}
	})

	t.Run("stream cut mid-answer is not replayed", func(t *testing.T) {
		h.sim.ResetStats()
		h.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", StreamCutAfterEvents: 3, Count: 1})
		resp, body := h.post("/v1/responses", simBody, nil)
		if resp.StatusCode != 200 || !strings.HasSuffix(body, "\n\n") || !strings.Contains(body, "event: error\n") {
			t.Fatalf("%d: %q", resp.StatusCode, body)
		}
		if _, done := answerOf(body); done {
			t.Error("cut stream reported completed")
		}
		if n := h.sim.Stats().ResponsesRequests; n != 1 {
			t.Errorf("upstream /responses requests = %d, want 1", n)
		}
	})

	t.Run("non-streaming client", func(t *testing.T) {
		body := strings.Replace(simBody, `"stream":true,"store":false`, `"stream":false`, 1)
		resp, out := h.post("/v1/responses", body, nil)
		var obj struct {
			Object, Status string
			Output         []struct {
				Content []struct{ Text string }
			}
		}
		if err := json.Unmarshal([]byte(out), &obj); err != nil || resp.StatusCode != 200 || obj.Status != "completed" ||
			len(obj.Output) != 1 || obj.Output[0].Content[0].Text != openaisim.DefaultAnswer {
			t.Fatalf("%d: %s", resp.StatusCode, out)
		}
	})

	t.Run("compact and models", func(t *testing.T) {
		resp, out := h.post("/v1/responses/compact", `{"model":"gpt-5-codex","input":[]}`, nil)
		if resp.StatusCode != 200 || !strings.Contains(out, `"output"`) {
			t.Fatalf("compact: %d %s", resp.StatusCode, out)
		}
		req, _ := http.NewRequest("GET", h.srv.URL+"/v1/models?client_version=0.169.0", nil)
		req.Header.Set("x-api-key", testKey)
		mresp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(mresp.Body)
		mresp.Body.Close()
		if mresp.StatusCode != 200 || !strings.Contains(string(b), `"gpt-5-codex"`) {
			t.Fatalf("models: %d %s", mresp.StatusCode, b)
		}
	})

	t.Run("usage limit fails over and cools down until resets_at", func(t *testing.T) {
		h.sim.ResetStats()
		until := time.Now().Add(time.Hour).Truncate(time.Second)
		h.sim.SetUsageLimit("acct-a", until)
		resp, body := h.post("/v1/responses", simBody, http.Header{"Session_id": {"s1"}})
		if _, done := answerOf(body); resp.StatusCode != 200 || !done {
			t.Fatalf("%d: %s", resp.StatusCode, body)
		}
		st := h.sim.Stats()
		if st.Accounts["acct-a"].UsageLimited != 1 || st.Accounts["acct-b"].ResponsesOK != 1 {
			t.Errorf("stats = %+v", st.Accounts)
		}
		_, _, cds := h.store.calls()
		if len(cds) != 1 || cds[0].Account != "acct-a" || !cds[0].Until.Equal(until) || cds[0].Reason != quota.CooldownUsageLimit {
			t.Errorf("cooldowns = %+v, want acct-a until %v", cds, until)
		}
		// Both limited: 429 with the earliest reset.
		h.sim.SetUsageLimit("acct-b", until.Add(time.Hour))
		resp, body = h.post("/v1/responses", simBody, nil)
		if resp.StatusCode != 429 || openAIError(t, body).ResetsAt != until.Unix() {
			t.Errorf("all limited: %d %s", resp.StatusCode, body)
		}
	})
}
