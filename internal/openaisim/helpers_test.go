package openaisim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testclock"
)

type fixture struct {
	sim   *Sim
	srv   *httptest.Server
	clock *testclock.Clock
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, srv: srv, clock: clock}
}

// result is a decoded JSON answer.
type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errCode returns error.code of an OpenAI-shaped error body.
func (r result) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := result{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body) // non-JSON bodies keep body nil
	return r
}

func newReq(t *testing.T, method, url, ctype string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refresh posts a refresh_token grant as JSON (form=false) or form body.
func (f *fixture) refresh(t *testing.T, rt string, form bool) result {
	t.Helper()
	p := map[string]string{"client_id": ClientID, "grant_type": "refresh_token", "refresh_token": rt, "scope": "openid profile email"}
	return f.token(t, p, form)
}

func (f *fixture) token(t *testing.T, p map[string]string, form bool) result {
	t.Helper()
	if form {
		v := url.Values{}
		for k, val := range p {
			v.Set(k, val)
		}
		return do(t, newReq(t, "POST", f.srv.URL+"/oauth/token", "application/x-www-form-urlencoded", []byte(v.Encode())))
	}
	return do(t, newReq(t, "POST", f.srv.URL+"/oauth/token", "application/json", mustJSON(t, p)))
}

// validBody is a /responses body as the Codex CLI sends it.
func validBody() map[string]any {
	return map[string]any{
		"model":        "gpt-5.1-codex",
		"instructions": "You are Codex.",
		"input":        []any{map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": "hi"}}}},
		"stream":       true,
		"store":        false,
	}
}

// backendReq builds a backend request authenticated as tokens.
func (f *fixture) backendReq(t *testing.T, method, path string, tok Tokens, body any) *http.Request {
	t.Helper()
	var raw []byte
	ctype := ""
	if body != nil {
		raw, ctype = mustJSON(t, body), "application/json"
	}
	req := newReq(t, method, f.srv.URL+path, ctype, raw)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("ChatGPT-Account-Id", tok.AccountID)
	return req
}

func (f *fixture) responses(t *testing.T, tok Tokens) result {
	t.Helper()
	return do(t, f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody()))
}

// tokensFrom turns a 200 token answer into Tokens of account id.
func tokensFrom(t *testing.T, r result, id string) Tokens {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token answer %d: %s", r.status, r.raw)
	}
	return Tokens{
		AccessToken:  r.body["access_token"].(string),
		RefreshToken: r.body["refresh_token"].(string),
		IDToken:      r.body["id_token"].(string),
		AccountID:    id,
	}
}

// claims decodes a JWT payload.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload not base64url: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("payload not JSON: %v", err)
	}
	return c
}

// sseEvents parses an event stream into (event, data) pairs.
func sseEvents(t *testing.T, raw string) []struct {
	name string
	data map[string]any
} {
	t.Helper()
	var out []struct {
		name string
		data map[string]any
	}
	for _, block := range strings.Split(strings.TrimSpace(raw), "\n\n") {
		var ev struct {
			name string
			data map[string]any
		}
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
					t.Fatalf("data not JSON: %v: %q", err, line)
				}
			}
		}
		out = append(out, ev)
	}
	return out
}
