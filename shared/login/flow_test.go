package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
)

func TestChallenge_RFC7636Vector(t *testing.T) {
	// RFC 7636 Appendix B.
	if got, want := Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Fatalf("Challenge = %q, want %q", got, want)
	}
}

func TestNew_AuthorizeURL(t *testing.T) {
	f, err := New("https://auth.openai.com/oauth/authorize", DefaultPort)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(f.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != "https://auth.openai.com/oauth/authorize" {
		t.Errorf("endpoint = %s", u)
	}
	want := map[string]string{
		"response_type":              "code",
		"client_id":                  "app_EMoamEEZ73f0CkXaXp7hrann",
		"redirect_uri":               "http://localhost:1455/auth/callback",
		"scope":                      "openid profile email offline_access",
		"code_challenge":             Challenge(f.Verifier),
		"code_challenge_method":      "S256",
		"state":                      f.State,
		"id_token_add_organizations": "true",
		"codex_cli_simplified_flow":  "true",
	}
	q := u.Query()
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("param %s = %q, want %q", k, got, v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("params = %v, want exactly %d", q, len(want))
	}
	if n := len(f.Verifier); n < 43 || n > 128 {
		t.Errorf("verifier length %d outside 43-128", n)
	}
	if len(f.State) < 32 {
		t.Errorf("state %q too short", f.State)
	}
	g, _ := New("https://auth.openai.com/oauth/authorize", DefaultPort)
	if g.State == f.State || g.Verifier == f.Verifier {
		t.Error("two flows share state or verifier")
	}
}

func TestNew_BadInput(t *testing.T) {
	for _, tt := range []struct {
		url  string
		port int
	}{{"auth.openai.com/oauth/authorize", 1455}, {"ftp://x/y", 1455}, {"https://x/y", 0}, {"https://x/y", 70000}} {
		if _, err := New(tt.url, tt.port); err == nil {
			t.Errorf("New(%q, %d): want an error", tt.url, tt.port)
		}
	}
}

func TestFlow_CodeFrom(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	st := url.QueryEscape(f.State)
	tests := []struct {
		name, in, code string
		err            error
	}{
		{"full URL", "http://localhost:1455/auth/callback?code=abc&state=" + st, "abc", nil},
		{"spaces", "  http://localhost:1455/auth/callback?code=abc&state=" + st + "\n", "abc", nil},
		{"query only", "code=abc&state=" + st, "abc", nil},
		{"query with ?", "?state=" + st + "&code=abc", "abc", nil},
		{"fragment", "http://localhost:1455/auth/callback?code=abc&state=" + st + "#x", "abc", nil},
		{"wrong state", "http://localhost:1455/auth/callback?code=abc&state=nope", "", ErrStateMismatch},
		{"no state", "http://localhost:1455/auth/callback?code=abc", "", ErrStateMismatch},
		{"denied", "http://localhost:1455/auth/callback?error=access_denied&state=" + st, "", ErrDenied},
		{"no code", "http://localhost:1455/auth/callback?state=" + st, "", ErrNoCode},
		{"garbage", "hello", "", ErrStateMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := f.CodeFrom(tt.in)
			if code != tt.code || !errors.Is(err, tt.err) {
				t.Fatalf("CodeFrom = %q, %v; want %q, %v", code, err, tt.code, tt.err)
			}
		})
	}
}

func TestFlow_WaitPaste(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	var notes []error
	paste := strings.NewReader("\nnot a url\nhttp://localhost:1455/auth/callback?code=c1&state=" + url.QueryEscape(f.State) + "\n")
	code, err := f.Wait(context.Background(), nil, paste, func(err error) { notes = append(notes, err) })
	if err != nil || code != "c1" {
		t.Fatalf("Wait = %q, %v", code, err)
	}
	if len(notes) != 1 || !errors.Is(notes[0], ErrStateMismatch) {
		t.Errorf("notes = %v, want one state mismatch", notes)
	}
}

func TestFlow_WaitNothing(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	if _, err := f.Wait(context.Background(), nil, strings.NewReader(""), nil); err == nil {
		t.Fatal("Wait with no callback and an empty paste: want an error")
	}
}

func TestFlow_WaitDenied(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	_, err := f.Wait(context.Background(), nil, strings.NewReader("?error=access_denied&state="+url.QueryEscape(f.State)+"\n"), nil)
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("err = %v, want ErrDenied", err)
	}
}

func TestFlow_WaitContext(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	cb, err := f.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	if _, err := f.Wait(ctx, cb, pr, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestCallback_WrongStateIgnored(t *testing.T) {
	f, _ := New("https://auth.example/authorize", DefaultPort)
	cb, err := f.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	base := "http://" + cb.Addr().String() + CallbackPath
	resp, err := http.Get(base + "?code=x&state=wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("wrong state: status %d, want 400", resp.StatusCode)
	}
	go func() {
		resp, err := http.Get(base + "?code=good&state=" + url.QueryEscape(f.State))
		if err == nil {
			resp.Body.Close()
		}
	}()
	var notes int
	code, err := f.Wait(context.Background(), cb, nil, func(error) { notes++ })
	if err != nil || code != "good" || notes != 1 {
		t.Fatalf("Wait = %q, %v (notes %d); want good, nil, 1", code, err, notes)
	}
}

// TestFlow_Simulator runs the whole flow against the strict simulator: the
// test is the browser, following the authorize redirect to the callback.
func TestFlow_Simulator(t *testing.T) {
	sim := openaisim.New(openaisim.Options{})
	acct := sim.SetLoginAccount(openaisim.Account{Name: "alice", Email: "alice@example.com", Plan: "pro"})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	// The redirect URI names the port, so pick a free one first.
	p := testsupport.FreePort(t)
	f, err := New(srv.URL+"/oauth/authorize", p)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := f.Listen(fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()

	browserErr := make(chan error, 1)
	go func() {
		resp, err := http.Get(f.AuthorizeURL) // follows the 302 to the callback
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("browser ended at %s with %d", resp.Request.URL, resp.StatusCode)
			}
		}
		browserErr <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := f.Wait(ctx, cb, nil, func(err error) { t.Errorf("notify: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	if err := <-browserErr; err != nil {
		t.Fatal(err)
	}
	oauth := &codex.OAuthClient{TokenURL: srv.URL + "/oauth/token"}
	auth, err := f.Exchange(ctx, oauth, code, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := auth.Claims()
	if c.AccountID != acct.ID || c.Email != "alice@example.com" || c.PlanType != "pro" {
		t.Errorf("claims = %+v, want account %s alice@example.com pro", c, acct.ID)
	}
	if auth.Token.Refresh == "" || auth.Token.ExpiresAt.IsZero() || auth.LastRefresh.IsZero() {
		t.Errorf("auth file incomplete: refresh=%v expires=%v last=%v", auth.Token.Refresh != "", auth.Token.ExpiresAt, auth.LastRefresh)
	}
	// The document round-trips through ParseAuthFile, as the secret will.
	raw, err := auth.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codex.ParseAuthFile("alice", raw); err != nil {
		t.Fatalf("stored document does not parse: %v", err)
	}
	// The code is single use: a second exchange fails.
	if _, err := f.Exchange(ctx, oauth, code, time.Now()); err == nil {
		t.Error("second exchange of one code succeeded")
	}
	if s := sim.Stats(); s.Authorizations != 1 || s.CodeExchanges != 2 || s.CodeExchangeFailures != 1 {
		t.Errorf("sim stats: %+v", s)
	}
}

func TestAuthFile_NoRefreshToken(t *testing.T) {
	if _, err := AuthFile(&codex.TokenResponse{AccessToken: "a.b.c"}, time.Now()); !errors.Is(err, codex.ErrInvalidAuthFile) {
		t.Fatalf("err = %v, want ErrInvalidAuthFile", err)
	}
}
