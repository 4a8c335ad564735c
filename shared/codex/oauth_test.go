package codex

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tokenStub is a fake token endpoint. handle sees the 1-based call number.
type tokenStub struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newTokenStub(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, call int)) *tokenStub {
	t.Helper()
	s := &tokenStub{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, int(s.calls.Add(1)))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// client returns an OAuthClient aimed at the stub with test-sized timings.
func (s *tokenStub) client() *OAuthClient {
	return &OAuthClient{
		TokenURL:       s.srv.URL + "/oauth/token",
		HTTPClient:     s.srv.Client(),
		AttemptTimeout: 5 * time.Second,
		BaseBackoff:    time.Millisecond,
	}
}

func (s *tokenStub) requests() int { return int(s.calls.Load()) }

// wantRefresh refreshes "rt_current" through the stub and fails the test
// unless the answer is want.
func (s *tokenStub) wantRefresh(t *testing.T, want TokenResponse) {
	t.Helper()
	resp, err := s.client().Refresh(context.Background(), "rt_current")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if *resp != want {
		t.Errorf("Refresh = %+v, want %+v", *resp, want)
	}
}

// stubTokens is a successful answer shaped like auth.openai.com's.
func stubTokens(t testing.TB) TokenResponse {
	exp := time.Now().Add(240 * time.Hour).Truncate(time.Second)
	return TokenResponse{
		AccessToken:  jwtWithClaims(t, openAIAccessClaims("acct-1", exp)),
		RefreshToken: "rt_rotated_" + t.Name(),
		IDToken:      jwtWithClaims(t, openAIIDClaims("acct-1", exp)),
		ExpiresIn:    864000,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client under test decides what a broken write means
}

// resetConn answers nothing: it hijacks the connection and resets it.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN; best effort
	}
	conn.Close()
}

func TestOAuthClient_Refresh_Request(t *testing.T) {
	want := stubTokens(t)
	type seen struct {
		method, path, contentType, accept string
		body                              map[string]any
	}
	got := make(chan seen, 1)
	stub := newTokenStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		s := seen{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept")}
		if err := json.NewDecoder(r.Body).Decode(&s.body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		got <- s
		writeJSON(w, http.StatusOK, want)
	})

	stub.wantRefresh(t, want)
	s := <-got
	if s.method != http.MethodPost || s.path != "/oauth/token" {
		t.Errorf("request = %s %s, want POST /oauth/token", s.method, s.path)
	}
	if s.contentType != "application/json" || s.accept != "application/json" {
		t.Errorf("Content-Type, Accept = %q, %q; want application/json", s.contentType, s.accept)
	}
	for k, v := range map[string]string{
		"client_id":     "app_EMoamEEZ73f0CkXaXp7hrann",
		"grant_type":    "refresh_token",
		"refresh_token": "rt_current",
	} {
		if s.body[k] != v {
			t.Errorf("body[%q] = %v, want %q", k, s.body[k], v)
		}
	}
	if stub.requests() != 1 {
		t.Errorf("requests = %d, want 1", stub.requests())
	}
}

func TestOAuthClient_ExchangeCode_Request(t *testing.T) {
	want := stubTokens(t)
	type seen struct {
		contentType string
		form        url.Values
	}
	got := make(chan seen, 1)
	stub := newTokenStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		s := seen{contentType: r.Header.Get("Content-Type")}
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		s.form = r.PostForm
		got <- s
		writeJSON(w, http.StatusOK, want)
	})

	const redirect = "http://localhost:1455/auth/callback"
	resp, err := stub.client().ExchangeCode(context.Background(), "ac_code+with/odd=chars", redirect, "verifier-0123456789")
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if *resp != want {
		t.Errorf("ExchangeCode = %+v, want %+v", *resp, want)
	}
	s := <-got
	if s.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want a form body", s.contentType)
	}
	for k, v := range map[string]string{
		"grant_type":    "authorization_code",
		"code":          "ac_code+with/odd=chars",
		"redirect_uri":  redirect,
		"client_id":     "app_EMoamEEZ73f0CkXaXp7hrann",
		"code_verifier": "verifier-0123456789",
	} {
		if g := s.form.Get(k); g != v {
			t.Errorf("form[%q] = %q, want %q", k, g, v)
		}
	}
}

func TestOAuthClient_Refresh_ErrorShapes(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantMessage string
	}{
		{
			name:        "NestedError",
			status:      401,
			body:        `{"error":{"message":"Your refresh token has already been used to generate a new access token. Please try signing in again.","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}}`,
			wantCode:    "refresh_token_reused",
			wantMessage: "Your refresh token has already been used to generate a new access token. Please try signing in again.",
		},
		{
			name:        "NestedErrorTypeOnly",
			status:      400,
			body:        `{"error":{"message":"Missing refresh_token","type":"invalid_request_error","code":null}}`,
			wantCode:    "invalid_request_error",
			wantMessage: "Missing refresh_token",
		},
		{
			name:        "FlatError",
			status:      400,
			body:        `{"error":"invalid_grant","error_description":"Invalid refresh token"}`,
			wantCode:    "invalid_grant",
			wantMessage: "Invalid refresh token",
		},
		{
			name:        "FlatErrorNoDescription",
			status:      400,
			body:        `{"error":"invalid_grant"}`,
			wantCode:    "invalid_grant",
			wantMessage: "Bad Request",
		},
		{
			name:        "TopLevelCode",
			status:      403,
			body:        `{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported"}`,
			wantCode:    "unsupported_country_region_territory",
			wantMessage: "Country, region, or territory not supported",
		},
		{
			name:        "NotJSON",
			status:      502,
			body:        "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
			wantMessage: "<html><body><h1>502 Bad Gateway</h1></body></html>",
		},
		{
			name:        "EmptyBody",
			status:      503,
			wantMessage: "Service Unavailable",
		},
		{
			name:        "JSONNull",
			status:      500,
			body:        `null`,
			wantMessage: "Internal Server Error",
		},
		{
			name:        "JSONArray",
			status:      500,
			body:        `["oops"]`,
			wantMessage: `["oops"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			c := stub.client()
			c.MaxAttempts = 1
			resp, err := c.Refresh(context.Background(), "rt_current")
			if err == nil {
				t.Fatalf("Refresh = %+v, want error", resp)
			}
			var oe *OAuthError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *OAuthError", err, err)
			}
			if oe.Status != tt.status || oe.Code != tt.wantCode || oe.Message != tt.wantMessage {
				t.Errorf("OAuthError = {Status:%d Code:%q Message:%q}, want {%d %q %q}", oe.Status, oe.Code, oe.Message, tt.status, tt.wantCode, tt.wantMessage)
			}
		})
	}
}

func TestOAuthClient_Refresh_RetryPolicy(t *testing.T) {
	answer := func(status int, body string) func(t *testing.T, w http.ResponseWriter) {
		return func(_ *testing.T, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name         string
		maxAttempts  int
		respond      func(t *testing.T, w http.ResponseWriter)
		wantRequests int
		wantTerminal bool
		maybeRotated bool // the server may have acted: never retried
	}{
		{"500Retried", 3, answer(500, `{"error":{"message":"boom","type":"server_error"}}`), 3, false, false},
		{"502NotRetried", 3, answer(502, `bad gateway`), 1, false, true},
		{"504NotRetried", 3, answer(504, `gateway timeout`), 1, false, true},
		{"503Retried", 3, answer(503, ``), 3, false, false},
		{"429Retried", 3, answer(429, `{"error":{"message":"slow down","code":"rate_limit_exceeded"}}`), 3, false, false},
		{"408Retried", 3, answer(408, ``), 3, false, false},
		{"ConnectionResetAfterSendNotRetried", 3, resetConn, 1, false, true},
		{"DefaultMaxAttemptsIsThree", 0, answer(503, ``), 3, false, false},
		{"MaxAttemptsFive", 5, answer(503, ``), 5, false, false},
		{"MaxAttemptsOne", 1, answer(503, ``), 1, false, false},
		{"401NotRetried", 3, answer(401, `{"error":{"message":"unauthorized","code":"token_expired"}}`), 1, true, false},
		{"401NoBodyNotRetried", 3, answer(401, ``), 1, true, false},
		{"400ReusedNotRetried", 3, answer(400, `{"error":{"message":"Your refresh token has already been used","type":"invalid_request_error","code":"refresh_token_reused"}}`), 1, true, false},
		{"400InvalidGrantNotRetried", 3, answer(400, `{"error":"invalid_grant","error_description":"expired"}`), 1, true, false},
		{"403GeoBlockedNotRetried", 3, answer(403, `{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported"}}`), 1, true, false},
		{"400UnknownNotRetried", 3, answer(400, `{"error":{"code":"invalid_request"}}`), 1, false, false},
		{"403OtherNotRetried", 3, answer(403, `<html>Forbidden</html>`), 1, false, false},
		{"200NotJSONIsError", 3, answer(200, `<html>login</html>`), 1, false, true},
		{"200JSONNullIsError", 3, answer(200, `null`), 1, false, true},
		{"200JSONArrayIsError", 3, answer(200, `[]`), 1, false, true},
		{"200WrongTypesIsError", 3, answer(200, `{"access_token":42}`), 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) { tt.respond(t, w) })
			c := stub.client()
			c.MaxAttempts = tt.maxAttempts
			resp, err := c.Refresh(context.Background(), "rt_current")
			if err == nil {
				t.Fatalf("Refresh = %+v, want error", resp)
			}
			if resp != nil {
				t.Errorf("Refresh returned %+v with the error", resp)
			}
			if got := stub.requests(); got != tt.wantRequests {
				t.Errorf("server saw %d requests, want %d", got, tt.wantRequests)
			}
			var oe *OAuthError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v (%T) is not an *OAuthError", err, err)
			}
			if oe.Terminal() != tt.wantTerminal {
				t.Errorf("Terminal() = %v, want %v (err %v)", oe.Terminal(), tt.wantTerminal, err)
			}
			// The server saw the request and answered nothing definite: it
			// may have rotated, and the caller must hear so.
			if oe.MaybeRotated != tt.maybeRotated {
				t.Errorf("MaybeRotated = %v, want %v (err %v)", oe.MaybeRotated, tt.maybeRotated, err)
			}
			if tt.wantRequests > 1 && !strings.Contains(err.Error(), "attempts") {
				t.Errorf("error %q does not say it retried", err)
			}
		})
	}
}

func TestOAuthClient_Refresh_SucceedsAfterTransient(t *testing.T) {
	want := stubTokens(t)
	tests := []struct {
		name  string
		first func(t *testing.T, w http.ResponseWriter)
	}{
		{"After503", func(_ *testing.T, w http.ResponseWriter) { w.WriteHeader(503) }},
		{"After429", func(_ *testing.T, w http.ResponseWriter) {
			writeJSON(w, 429, map[string]any{"error": map[string]string{"code": "rate_limit_exceeded"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, call int) {
				if call == 1 {
					tt.first(t, w)
					return
				}
				writeJSON(w, http.StatusOK, want)
			})
			stub.wantRefresh(t, want)
			if got := stub.requests(); got != 2 {
				t.Errorf("server saw %d requests, want 2", got)
			}
		})
	}
}

// A timed-out attempt is never sent again: its request may still be served
// after a retry rotated the token, which is a reuse, and OpenAI then revokes
// the whole login. The timeout is reported as transient (the next holder
// tries again from what is stored).
func TestOAuthClient_Refresh_TimedOutAttemptNotRetried(t *testing.T) {
	// slow blocks until the client gives up on the attempt (or a safety cap).
	slow := func(r *http.Request) {
		// The server notices a client hang-up only once the body is consumed.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	for _, tc := range []struct {
		name string
		set  func(c *OAuthClient) context.Context
	}{
		{"AttemptTimeout", func(c *OAuthClient) context.Context {
			c.AttemptTimeout = 50 * time.Millisecond
			return context.Background()
		}},
		{"CallerDeadline", func(*OAuthClient) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := newTokenStub(t, func(_ http.ResponseWriter, r *http.Request, _ int) { slow(r) })
			c := stub.client()
			c.MaxAttempts = 3
			_, err := c.Refresh(tc.set(c), "rt_current")
			var oe *OAuthError
			if !errors.As(err, &oe) || !oe.Transient() || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want a transient *OAuthError wrapping context.DeadlineExceeded", err)
			}
			if got := stub.requests(); got != 1 {
				t.Errorf("server saw %d requests, want 1: a timed-out request must not be sent again", got)
			}
		})
	}
}

func TestOAuthClient_Refresh_CallerCancelDoesNotAbort(t *testing.T) {
	want := stubTokens(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	stub := newTokenStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		_, _ = io.Copy(io.Discard, r.Body) // so that r.Context() sees a hang-up
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			t.Errorf("the in-flight refresh was aborted: %v", r.Context().Err())
			return
		}
		writeJSON(w, http.StatusOK, want)
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		resp *TokenResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := stub.client().Refresh(ctx, "rt_current")
		done <- result{resp, err}
	}()

	<-arrived
	cancel()
	select {
	case r := <-done:
		t.Fatalf("Refresh returned after the caller cancelled, before the server answered: %+v, %v", r.resp, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)

	r := <-done
	if r.err != nil {
		t.Fatalf("Refresh: %v", r.err)
	}
	if *r.resp != want {
		t.Errorf("Refresh = %+v, want the server's tokens %+v", *r.resp, want)
	}
	if got := stub.requests(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestOAuthClient_Refresh_DeadlineHonored(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stub := newTokenStub(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := stub.client()
	c.AttemptTimeout = 10 * time.Second

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Refresh(ctx, "rt_current")
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Refresh succeeded, want a deadline error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Refresh took %v, want about the 100ms deadline", elapsed)
	}
	if got := stub.requests(); got != 1 {
		t.Errorf("server saw %d requests, want 1 (no retry past the deadline)", got)
	}
}

func TestOAuthClient_Refresh_NoRetryPastDeadline(t *testing.T) {
	stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(503) })
	c := stub.client()
	c.MaxAttempts = 5
	c.BaseBackoff = time.Second // the first backoff alone outlasts the deadline

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Refresh(ctx, "rt_current")
	if err == nil {
		t.Fatal("Refresh succeeded, want an error")
	}
	if elapsed := time.Since(start); elapsed > 150*time.Millisecond {
		t.Errorf("Refresh took %v; it slept although the backoff outlasts the deadline", elapsed)
	}
	if got := stub.requests(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
	if !strings.Contains(err.Error(), "after 1 attempts") {
		t.Errorf("error %q should count the attempts made", err)
	}
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Status != 503 {
		t.Errorf("error %v, want the 503 *OAuthError", err)
	}
}

// A connection that fails before any byte of the request left cannot have
// rotated anything: it is retried, and the second attempt succeeds.
func TestOAuthClient_Refresh_DialFailureRetried(t *testing.T) {
	want := stubTokens(t)
	stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, http.StatusOK, want) })
	c := stub.client()
	var dials atomic.Int32
	tr := stub.srv.Client().Transport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, errors.New("connect: connection refused (simulated)")
		}
		return dial(ctx, network, addr)
	}
	c.HTTPClient = &http.Client{Transport: tr}
	resp, err := c.Refresh(context.Background(), "rt_current")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if *resp != want || stub.requests() != 1 || dials.Load() != 2 {
		t.Errorf("resp %+v, server saw %d requests after %d dials; want the tokens, 1 request, 2 dials", *resp, stub.requests(), dials.Load())
	}
}

// A 200 whose body breaks off may carry a rotated token nobody can read:
// not retried, and reported as possibly rotated.
func TestOAuthClient_Refresh_CutAnswerMayHaveRotated(t *testing.T) {
	stub := newTokenStub(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"access_token":"`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	_, err := stub.client().Refresh(context.Background(), "rt_current")
	var oe *OAuthError
	if !errors.As(err, &oe) || !oe.MaybeRotated || stub.requests() != 1 {
		t.Fatalf("err = %v (MaybeRotated %v), %d requests; want one request and MaybeRotated", err, oe != nil && oe.MaybeRotated, stub.requests())
	}
}
