package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testclock"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

const testKey = "cg-test-key-0123456789"

func newFakeClock() *testclock.Clock { return testclock.New(time.Unix(1_800_000_000, 0)) }

// fakeTokens hands out "tok-<account>-<n>" tokens; a forced call bumps n.
type fakeTokens struct {
	mu     sync.Mutex
	gen    map[string]int
	errs   map[string]error
	calls  []tokenCall
	adopt  map[string]int // forced calls that adopt a stored token instead of minting
	forgot []string       // Forget calls, account=version
}

type tokenCall struct {
	Account string
	Opts    codex.AccessOptions
}

func newFakeTokens() *fakeTokens {
	return &fakeTokens{gen: map[string]int{}, errs: map[string]error{}, adopt: map[string]int{}}
}

func (f *fakeTokens) AccessToken(_ context.Context, account string, opts codex.AccessOptions) (codex.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, tokenCall{account, opts})
	if err := f.errs[account]; err != nil {
		return codex.Credentials{}, err
	}
	minted := opts.Force
	if opts.Force {
		f.gen[account]++ // a forced refresh mints a new token, or adopts one
		if f.adopt[account] > 0 {
			f.adopt[account]--
			minted = false
		}
	}
	return codex.Credentials{Access: f.token(account), AccountID: "chatgpt-" + account,
		Version: fmt.Sprintf("v%d", f.gen[account]), Minted: minted}, nil
}

func (f *fakeTokens) Forget(account, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgot = append(f.forgot, account+"="+version)
}

func (f *fakeTokens) token(account string) string {
	return fmt.Sprintf("tok-%s-%d", account, f.gen[account])
}

func (f *fakeTokens) forced() []tokenCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tokenCall
	for _, c := range f.calls {
		if c.Opts.Force {
			out = append(out, c)
		}
	}
	return out
}

// fakeKeys knows one key.
type fakeKeys struct {
	mu    sync.Mutex
	keys  map[string]string
	err   error
	calls int
	seen  []string
}

func (f *fakeKeys) VerifyKey(_ context.Context, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.seen = append(f.seen, key)
	if f.err != nil {
		return "", f.err
	}
	name, ok := f.keys[key]
	if !ok {
		return "", fmt.Errorf("lookup: %w", ErrInvalidKey)
	}
	return name, nil
}

func (f *fakeKeys) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeStore is the account list and the state table.
type fakeStore struct {
	mu        sync.Mutex
	names     []string
	states    []AccountState
	listErr   error
	lists     int
	loads     int
	cooldowns []cooldownCall
	strikes   int      // of the last SetUnauthorized
	cleared   []string // ClearUnauthorized calls
}

type cooldownCall struct {
	Account string
	Until   time.Time
	Reason  string
}

func (f *fakeStore) List(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return append([]string(nil), f.names...), f.listErr
}

func (f *fakeStore) AccountStates(context.Context) ([]AccountState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	return append([]AccountState(nil), f.states...), nil
}

func (f *fakeStore) SetCooldown(_ context.Context, account string, until time.Time, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cooldowns = append(f.cooldowns, cooldownCall{account, until, reason})
	return nil
}

func (f *fakeStore) SetUnauthorized(_ context.Context, account string, until time.Time, strikes int, version string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cooldowns = append(f.cooldowns, cooldownCall{account, until, quota.CooldownUnauthorized})
	f.strikes = strikes
	f.setState(account, func(st *AccountState) {
		st.CooldownUntil, st.CooldownReason, st.CooldownStrikes = until, quota.CooldownUnauthorized, strikes
	})
	return nil
}

func (f *fakeStore) ClearUnauthorized(_ context.Context, account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleared = append(f.cleared, account)
	f.setState(account, func(st *AccountState) {
		if st.CooldownReason == quota.CooldownUnauthorized {
			st.CooldownUntil, st.CooldownReason, st.CooldownStrikes = time.Time{}, "", 0
		}
	})
	return nil
}

// setState applies fn to account's stored state, as the table would.
func (f *fakeStore) setState(account string, fn func(*AccountState)) {
	for i := range f.states {
		if f.states[i].Account == account {
			fn(&f.states[i])
			return
		}
	}
	st := AccountState{Account: account}
	fn(&st)
	f.states = append(f.states, st)
}

func (f *fakeStore) calls() (lists, loads int, cooldowns []cooldownCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists, f.loads, append([]cooldownCall(nil), f.cooldowns...)
}

// upstreamRecord is one request the fake upstream saw.
type upstreamRecord struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	Account             string // from ChatGPT-Account-Id, "chatgpt-" trimmed
	Token               string
}

// fakeUpstream records requests and lets each test answer them.
type fakeUpstream struct {
	mu     sync.Mutex
	reqs   []upstreamRecord
	handle func(w http.ResponseWriter, r *http.Request, rec upstreamRecord)
}

func (u *fakeUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := upstreamRecord{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body,
		Account: strings.TrimPrefix(r.Header.Get("ChatGPT-Account-Id"), "chatgpt-"),
		Token:   strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
	}
	u.mu.Lock()
	u.reqs = append(u.reqs, rec)
	h := u.handle
	u.mu.Unlock()
	if h == nil {
		h = serveCompleted
	}
	h(w, r, rec)
}

func (u *fakeUpstream) requests() []upstreamRecord {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamRecord(nil), u.reqs...)
}

func (u *fakeUpstream) accounts() []string {
	var out []string
	for _, r := range u.requests() {
		out = append(out, r.Account)
	}
	return out
}

// sseEvent formats one event.
func sseEvent(name string, data any) string {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return "event: " + name + "\ndata: " + string(b) + "\n\n"
}

func completedEvents(account string) []string {
	resp := map[string]any{"id": "resp_1", "object": "response", "status": "completed", "account": account,
		"output": []any{map[string]any{"type": "message", "content": []any{map[string]any{"type": "output_text", "text": "hello"}}}}}
	return []string{
		sseEvent("response.created", map[string]any{"type": "response.created", "response": map[string]any{"id": "resp_1", "status": "in_progress"}}),
		sseEvent("response.output_text.delta", map[string]any{"type": "response.output_text.delta", "delta": "hello"}),
		sseEvent("response.completed", map[string]any{"type": "response.completed", "response": resp}),
	}
}

// serveCompleted answers like the Codex backend: quota headers, then a
// complete stream (or JSON for the non-SSE routes).
func serveCompleted(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
	w.Header().Set("x-codex-primary-used-percent", "10")
	w.Header().Set("x-codex-secondary-used-percent", "5")
	w.Header().Set("Set-Cookie", "__cf_bm=secret; Path=/")
	w.Header().Set("Cf-Ray", "abc")
	if r.URL.Path != "/backend-api/codex/responses" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"account":%q}`, r.URL.Path, rec.Account)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, ev := range completedEvents(rec.Account) {
		io.WriteString(w, ev)
		w.(http.Flusher).Flush()
	}
}

func writeJSONStatus(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// harness is a proxy in front of a fake upstream, served on 127.0.0.1.
type harness struct {
	t      testing.TB
	clock  *testclock.Clock
	up     *fakeUpstream
	tokens *fakeTokens
	keys   *fakeKeys
	store  *fakeStore
	proxy  *Proxy
	srv    *httptest.Server
	logs   *testsupport.Buffer
}

func newHarness(t testing.TB, accounts []string, tweak ...func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		clock:  newFakeClock(),
		up:     &fakeUpstream{},
		tokens: newFakeTokens(),
		keys:   &fakeKeys{keys: map[string]string{testKey: "laptop"}},
		store:  &fakeStore{names: accounts},
		logs:   &testsupport.Buffer{},
	}
	upSrv := httptest.NewServer(h.up)
	t.Cleanup(upSrv.Close)
	cfg := Config{
		UpstreamURL: upSrv.URL + "/backend-api/codex",
		Tokens:      h.tokens,
		Keys:        h.keys,
		Accounts:    h.store,
		States:      h.store,
		Clock:       h.clock.Now,
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.proxy = p
	h.srv = httptest.NewServer(p)
	t.Cleanup(h.srv.Close)
	return h
}

// logText is what the proxy logged, once the lines of the requests that
// ended are written (they are written after each answer: logLater).
func (h *harness) logText() string {
	h.proxy.logs.pending.Wait()
	return h.logs.String()
}

// do sends a request with the test key (unless header overrides it).
func (h *harness) do(method, path, body string, header http.Header) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// stream sends a streamed /v1/responses request with the test key; cancel
// is the client going away.
func (h *harness) stream() (resp *http.Response, cancel context.CancelFunc) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+"/v1/responses", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	return resp, cancel
}

// read returns the status and body of a response.
func read(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b)
}

// openAIError decodes an OpenAI error document strictly.
func openAIError(t *testing.T, body string) errorObject {
	t.Helper()
	var doc struct {
		Error *errorObject `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Error == nil || doc.Error.Message == "" || doc.Error.Type == "" {
		t.Fatalf("not an OpenAI error document: %s", body)
	}
	return *doc.Error
}

const streamBody = `{"model":"gpt-5-codex","instructions":"x","input":[],"stream":true,"store":false}`

var errBoom = errors.New("boom")

// isLoading reports whether a pool load is running.
func (p *pool) isLoading() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loading != nil
}
