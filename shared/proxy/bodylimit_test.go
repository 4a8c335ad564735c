package proxy

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/lambdaproxy"
)

// sized pads the JSON document prefix + "x"*k + suffix to exactly n bytes.
func sized(t *testing.T, prefix, suffix string, n int) string {
	t.Helper()
	k := n - len(prefix) - len(suffix)
	if k < 0 {
		t.Fatalf("cannot pad to %d bytes", n)
	}
	return prefix + strings.Repeat("x", k) + suffix
}

// TestProxy_BodyLimit_SixMB: without a MaxBodyBytes setting every front
// refuses a body one byte over 6 MiB (Lambda's request limit) with 413 in its
// own error shape, naming the limit and why, and nothing goes upstream; a
// body of exactly 6 MiB is served.
func TestProxy_BodyLimit_SixMB(t *testing.T) {
	if DefaultMaxBodyBytes != 6<<20 {
		t.Fatalf("DefaultMaxBodyBytes = %d, want 6 MiB (AWS Lambda's request payload limit)", DefaultMaxBodyBytes)
	}
	h := newHarness(t, []string{"a"})
	over := DefaultMaxBodyBytes + 1
	const wantMsg = "6 MB (6291456 bytes), AWS Lambda's limit"
	fronts := []struct {
		path, body string
		anthropic  bool
	}{
		{"/v1/responses", sized(t, `{"model":"gpt-5.1-codex","input":"`, `"}`, over), false},
		{"/v1/chat/completions", sized(t, `{"model":"gpt-5.1-codex","messages":[{"role":"user","content":"`, `"}]}`, over), false},
		{"/v1/messages", sized(t, `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"`, `"}]}`, over), true},
	}
	for _, f := range fronts {
		t.Run(f.path, func(t *testing.T) {
			status, body := read(t, h.do("POST", f.path, f.body, nil))
			if status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %.300s", status, body)
			}
			var typ, msg string
			if f.anthropic {
				typ, msg = anthropicError(t, body)
			} else {
				e := openAIError(t, body)
				typ, msg = e.Code, e.Message
			}
			if typ != "request_too_large" || !strings.Contains(msg, wantMsg) {
				t.Errorf("error %q %q, want request_too_large naming %q", typ, msg, wantMsg)
			}
		})
	}
	if n := len(h.up.requests()); n != 0 {
		t.Fatalf("%d requests went upstream, want none", n)
	}
	exact := sized(t, `{"model":"gpt-5.1-codex","instructions":"x","stream":true,"store":false,"input":"`, `"}`, DefaultMaxBodyBytes)
	if status, body := read(t, h.do("POST", "/v1/responses", exact, nil)); status != http.StatusOK {
		t.Fatalf("a body of exactly 6 MiB: %d %.300s", status, body)
	}
}

// TestProxy_BodyLimit_LambdaEvent: the proxy as the Lambda function runs it
// (through lambdaproxy, from an API Gateway event, base64 or not) refuses a
// body over 6 MiB the same way.
func TestProxy_BodyLimit_LambdaEvent(t *testing.T) {
	h := newHarness(t, []string{"a"})
	handler := lambdaproxy.Handler(h.proxy)
	over := DefaultMaxBodyBytes + 1
	for _, tc := range []struct {
		path, body string
		base64     bool
		wantType   string
	}{
		{"/v1/responses", sized(t, `{"model":"gpt-5.1-codex","input":"`, `"}`, over), false, `"code":"request_too_large"`},
		{"/v1/messages", sized(t, `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"`, `"}]}`, over), true, `"type":"request_too_large"`},
	} {
		body := tc.body
		if tc.base64 {
			body = base64.StdEncoding.EncodeToString([]byte(body))
		}
		ev := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: tc.path, Body: body, IsBase64Encoded: tc.base64,
			Headers: map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"}}
		resp, err := handler(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), tc.wantType) || !strings.Contains(string(b), "6 MB") {
			t.Errorf("%s: %d %.300s, want 413 with %s naming 6 MB", tc.path, resp.StatusCode, b, tc.wantType)
		}
	}
	if n := len(h.up.requests()); n != 0 {
		t.Fatalf("%d requests went upstream, want none", n)
	}
}

// TestErrBodyTooLarge_NamesOtherLimits: a limit that is not whole MiB is
// named in bytes.
func TestErrBodyTooLarge_NamesOtherLimits(t *testing.T) {
	if msg := errBodyTooLarge(1000).message; !strings.Contains(msg, "limit of 1000 bytes,") {
		t.Errorf("message %q", msg)
	}
}
