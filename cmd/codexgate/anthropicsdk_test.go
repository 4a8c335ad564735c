package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// TestAnthropicSDK runs testdata/anthropic_sdk.cjs, the official Anthropic
// TypeScript SDK against `codexgate serve`: non-streaming and streaming
// messages, a tool-use round trip, image blocks, thinking, count_tokens,
// and the error shapes the SDK maps to its error classes (401, 400, 529
// when no account can serve, 429 with retry-after once the account hits its
// usage limit).
func TestAnthropicSDK(t *testing.T) {
	node, nodePath := nodeModule(t, "anthropic-sdk", "@anthropic-ai/sdk")
	s, srv, key, tok := serveOneAccount(t, "sdk-e2e", "anthropic-sdk")

	phase := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := nodeScript(ctx, node, nodePath, []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"CODEXGATE_URL=" + srv.base, "CODEXGATE_API_KEY=" + key, "WANT_ANSWER=" + openaisim.DefaultAnswer,
		}, "anthropic_sdk.cjs", name)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("phase %s: %v\n%s\nserve:\n%s", name, err, out, srv.logs)
		}
		t.Logf("phase %s:\n%s", name, strings.TrimSpace(string(out)))
	}

	phase("normal")
	if st := s.sim.Stats(); st.BadRequests != 0 || st.FunctionCalls != 2 {
		t.Errorf("simulator: %d refused requests, %d function calls (want 0, 2)", st.BadRequests, st.FunctionCalls)
	}
	// The only account answers 5xx: no account can serve.
	s.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", Status: 500})
	phase("overloaded")
	s.sim.ClearFaults()
	if err := s.sim.SetUsageLimit(tok.AccountID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	phase("limited")
	srv.stop(t)
}
