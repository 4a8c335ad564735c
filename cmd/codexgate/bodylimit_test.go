package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServe_BodyLimit: `codexgate serve` refuses a 7 MB body on every front
// with 413 in that front's error shape, naming the 6 MB limit it shares with
// the Lambda proxy, and sends nothing upstream.
func TestServe_BodyLimit(t *testing.T) {
	s, srv, key, _ := serveOneAccount(t, "erin", "test")

	pad := strings.Repeat("x", 7_000_000)
	for _, tc := range []struct{ path, body string }{
		{"/v1/responses", `{"model":"gpt-5.1-codex","input":"` + pad + `"}`},
		{"/v1/chat/completions", `{"model":"gpt-5.1-codex","messages":[{"role":"user","content":"` + pad + `"}]}`},
		{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"` + pad + `"}]}`},
	} {
		resp, b := postRead(t, srv.base+tc.path, key, tc.body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d %.300s, want 413", tc.path, resp.StatusCode, b)
			continue
		}
		var doc struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v: %s", tc.path, err, b)
			continue
		}
		got := doc.Error.Code // OpenAI shape
		if tc.path == "/v1/messages" {
			if doc.Type != "error" {
				t.Errorf("%s: not Anthropic's error shape: %s", tc.path, b)
			}
			got = doc.Error.Type
		}
		if got != "request_too_large" || !strings.Contains(doc.Error.Message, "6 MB") {
			t.Errorf("%s: %s, want request_too_large naming 6 MB", tc.path, b)
		}
	}
	if st := s.sim.Stats(); st.ResponsesOK != 0 {
		t.Errorf("sim started %d responses, want none", st.ResponsesOK)
	}
	srv.stop(t)
}
