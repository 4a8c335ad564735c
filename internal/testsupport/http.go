package testsupport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// ResponsesTurn is one streamed Responses API turn, shaped as the Codex CLI
// sends it, that the strict simulator serves.
const ResponsesTurn = `{"model":"gpt-5-codex","instructions":"x","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true,"store":false}`

// Post sends body to url with key as the bearer token and returns the
// answer's status, headers and body.
func Post(t testing.TB, c *http.Client, url, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// WantTurn posts ResponsesTurn to srv's /v1/responses with key and reports
// an error, naming what answered, unless the turn completed (200, streamed
// to response.completed).
func WantTurn(t testing.TB, srv *httptest.Server, key, what string) {
	t.Helper()
	code, _, b := Post(t, srv.Client(), srv.URL+"/v1/responses", key, ResponsesTurn)
	if code != http.StatusOK || !strings.Contains(b, "response.completed") {
		t.Errorf("%s: %d %.300s", what, code, b)
	}
}
