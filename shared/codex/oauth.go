package codex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// ClientID is the Codex CLI's public OAuth client id.
const ClientID = "app_EMoamEEZ73f0CkXaXp7hrann"

// OAuthClient is the only code that calls the token endpoint. Terminal errors
// return at once; transient ones are retried a bounded number of times.
type OAuthClient struct {
	TokenURL       string        // required: config.Config.TokenURL
	HTTPClient     *http.Client  // default http.DefaultClient; AttemptTimeout bounds each request
	MaxAttempts    int           // default 3
	AttemptTimeout time.Duration // per attempt; default none (the caller's deadline bounds it)
	BaseBackoff    time.Duration // first retry delay before jitter; default 500ms
}

// TokenResponse is a successful token-endpoint answer. Any token may be
// missing: callers keep the old value then (see Token.Merge).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// Refresh spends refreshToken for a new token set. The call runs on a
// context detached from ctx's cancellation (a refresh that reached OpenAI
// rotates the token whether or not we read the answer), bounded by ctx's
// deadline.
//
// Only an attempt the server surely did not act on is retried: a definite
// transient answer (408, 429, 500, 503) or a connection that failed before
// the request was written. Anything else that ends without a readable answer
// (a 502 or 504 from a gateway, a connection lost after sending, a timeout,
// a 200 whose body cannot be read) may hide a rotation: a retry would then
// present a spent token, and OpenAI revokes the whole login, the token the
// retry obtained included. Such an error has MaybeRotated set and ends the
// call; the refresher raises the rotated-not-stored alarm.
func (c *OAuthClient) Refresh(ctx context.Context, refreshToken string) (*TokenResponse, error) {
	body, err := json.Marshal(map[string]string{
		"client_id":     ClientID,
		"grant_type":    "refresh_token",
		"refresh_token": refreshToken,
		"scope":         "openid profile email",
	})
	if err != nil {
		return nil, err
	}
	return c.do(ctx, "application/json", body)
}

// ExchangeCode trades a PKCE authorization code for a new login.
func (c *OAuthClient) ExchangeCode(ctx context.Context, code, redirectURI, verifier string) (*TokenResponse, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"client_id":     {ClientID},
		"code_verifier": {verifier},
	}
	return c.do(ctx, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

func (c *OAuthClient) do(ctx context.Context, contentType string, body []byte) (*TokenResponse, error) {
	// Detached from cancellation, not from the deadline: the refresher sets
	// one that keeps the call inside its lease.
	detached := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		detached, cancel = context.WithDeadline(detached, dl)
		defer cancel()
	}
	policy := backoff{first: c.BaseBackoff, most: time.Minute, attempts: max(c.MaxAttempts, 1)}
	if c.MaxAttempts == 0 {
		policy.attempts = 3
	}
	if policy.first == 0 {
		policy.first = 500 * time.Millisecond
	}
	var resp *TokenResponse
	final := false // the last error is not worth a retry
	made, err := policy.retry(detached, func() error {
		var err error
		resp, err = c.attempt(detached, contentType, body)
		var oe *OAuthError
		if final = err != nil && (!errors.As(err, &oe) || !oe.retryable()); final {
			return permanent{err}
		}
		return err
	})
	switch {
	case err == nil:
		return resp, nil
	case final:
		return nil, err
	}
	return nil, fmt.Errorf("after %d attempts: %w", made, err)
}

func (c *OAuthClient) attempt(ctx context.Context, contentType string, body []byte) (*TokenResponse, error) {
	if c.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AttemptTimeout)
		defer cancel()
	}
	if c.TokenURL == "" {
		return nil, errors.New("token request: no token URL configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	// Whether any byte of the request left decides whether a failure may
	// hide a rotation.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &OAuthError{Err: err, MaybeRotated: wrote.Load() || timedOut(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &OAuthError{Status: resp.StatusCode, Message: "token response cut short",
			Err: fmt.Errorf("read token response: %w", err), MaybeRotated: true}
	}
	if resp.StatusCode != http.StatusOK {
		e := parseOAuthError(resp.StatusCode, raw)
		e.MaybeRotated = ambiguousStatus[resp.StatusCode]
		return nil, e
	}
	var tr TokenResponse
	// Unmarshal accepts null into a struct, so check for an object first.
	if err := json.Unmarshal(raw, &tr); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		// A 200 we cannot read may still have rotated the token: report it as
		// a server fault, not as success.
		return nil, &OAuthError{Status: resp.StatusCode, Code: "invalid_response", Message: "token response is not JSON", MaybeRotated: true}
	}
	return &tr, nil
}

// parseOAuthError reads the three error shapes seen from the token endpoint:
// {"error":{"code","message"}}, {"error":"code","error_description"} and {"code","message"}.
func parseOAuthError(status int, raw []byte) *OAuthError {
	e := &OAuthError{Status: status}
	var body struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Code        string          `json:"code"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(raw, &body) != nil {
		e.Message = strings.TrimSpace(string(truncate(raw, 200)))
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
		return e
	}
	e.Code, e.Message = body.Code, body.Message
	var nested struct {
		Code    string `json:"code"`
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	var flat string
	switch {
	case json.Unmarshal(body.Error, &nested) == nil && (nested.Code != "" || nested.Message != "" || nested.Type != ""):
		e.Code, e.Message = nested.Code, nested.Message
		if e.Code == "" {
			e.Code = nested.Type
		}
	case json.Unmarshal(body.Error, &flat) == nil && flat != "":
		e.Code, e.Message = flat, body.Description
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// timedOut reports whether err is an attempt that ran out of time: its
// request may still be served.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
