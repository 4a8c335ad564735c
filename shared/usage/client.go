package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

// Codex identity headers: the usage endpoint serves the Codex CLI.
const (
	originator = "codex_cli_rs"
	userAgent  = "codex_cli_rs/0.169.0 (codexgate) codexgate"
)

// maxBody caps a usage answer; real ones are well under 4 KiB.
const maxBody = 1 << 20

// ErrUnauthorized matches a *StatusError with status 401: the access token
// was refused.
var ErrUnauthorized = errors.New("usage endpoint refused the access token")

// StatusError is a non-200 answer from the usage endpoint.
type StatusError struct {
	Status  int
	Code    string // OpenAI error code when the body carries one, e.g. token_expired
	Message string // the error message, truncated; never a token
}

func (e *StatusError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("usage endpoint: HTTP %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("usage endpoint: HTTP %d: %s", e.Status, e.Message)
}

// Is makes errors.Is(err, ErrUnauthorized) true for a 401.
func (e *StatusError) Is(target error) bool {
	return target == ErrUnauthorized && e.Status == http.StatusUnauthorized
}

// Client fetches usage snapshots.
type Client struct {
	URL  string       // CODEXGATE_USAGE_URL
	HTTP *http.Client // default: a client with a 20 s timeout
	Now  func() time.Time
}

var defaultHTTP = &http.Client{Timeout: 20 * time.Second}

// Fetch reads the usage of the account creds belong to.
func (c *Client) Fetch(ctx context.Context, creds codex.Credentials) (quota.Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return quota.Snapshot{}, fmt.Errorf("usage request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+creds.Access)
	if creds.AccountID != "" {
		req.Header.Set("ChatGPT-Account-Id", creds.AccountID)
	}
	req.Header.Set("originator", originator)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return quota.Snapshot{}, fmt.Errorf("fetch usage: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return quota.Snapshot{}, fmt.Errorf("read usage: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return quota.Snapshot{}, statusError(resp.StatusCode, body)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return Parse(body, now())
}

// ForAccount fetches the account's usage with a token from tokens. When the
// endpoint refuses the token it asks for a forced refresh with that token
// rejected and retries once; refreshed says whether that happened.
func (c *Client) ForAccount(ctx context.Context, tokens codex.TokenSource, account string) (s quota.Snapshot, refreshed bool, err error) {
	creds, err := tokens.AccessToken(ctx, account, codex.AccessOptions{})
	if err != nil {
		return quota.Snapshot{}, false, fmt.Errorf("access token: %w", err)
	}
	s, err = c.Fetch(ctx, creds)
	if !errors.Is(err, ErrUnauthorized) {
		return s, false, err
	}
	creds, rerr := tokens.AccessToken(ctx, account, codex.AccessOptions{Force: true, Rejected: creds.Access})
	if rerr != nil {
		return quota.Snapshot{}, false, fmt.Errorf("refresh after %v: %w", err, rerr)
	}
	s, err = c.Fetch(ctx, creds)
	return s, true, err
}

// statusError reads an OpenAI-shaped error body ({"error":{"message","code"}},
// {"error":"code"} or {"detail":"…"}); anything else is quoted, truncated.
func statusError(status int, body []byte) *StatusError {
	e := &StatusError{Status: status}
	var nested struct {
		Error struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	var flat struct {
		Error  string `json:"error"`
		Detail string `json:"detail"`
	}
	switch {
	case json.Unmarshal(body, &nested) == nil && (nested.Error.Code != "" || nested.Error.Message != ""):
		e.Code, e.Message = nested.Error.Code, nested.Error.Message
	case json.Unmarshal(body, &flat) == nil && (flat.Error != "" || flat.Detail != ""):
		e.Code, e.Message = flat.Error, flat.Detail
	default:
		e.Message = string(body)
	}
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	return e
}
