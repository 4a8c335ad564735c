package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// claudeCodeVersion is the Claude Code release scripts/tools.sh pins.
const claudeCodeVersion = "2.1.328"

// claudeBinary finds the pinned Claude Code (`make tools` installs it into
// .tools/claude-code). Without it the test is skipped (see missingClient).
func claudeBinary(t *testing.T) string {
	t.Helper()
	if p := pinnedBin(t, "claude-code", "claude"); p != "" {
		return p
	}
	missingClient(t, "Claude Code not found in .tools/claude-code: run `make tools` (npm i --prefix .tools/claude-code @anthropic-ai/claude-code@"+claudeCodeVersion+")")
	return ""
}

// claudeEnv is the Claude Code setup README and `make dev` print: the base
// URL, the codexgate key as the auth token, no telemetry or other traffic,
// and a HOME of its own.
func claudeEnv(base, key, home string) []string {
	return clientEnv(home,
		"ANTHROPIC_BASE_URL="+base,
		"ANTHROPIC_AUTH_TOKEN="+key,
		"DISABLE_TELEMETRY=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
	)
}

// TestClaudeCode_E2E is issue 16's done-when: Claude Code, configured as a
// user would, runs headless against `codexgate serve`, which serves it from
// a Codex account on the simulator: a plain answer; a turn where the model
// calls Claude Code's Bash tool, Claude Code runs it and sends the
// tool_result, and the final answer arrives carrying the tool's output; and
// after the simulator expires the account's access token, the next run
// succeeds with exactly one refresh.
func TestClaudeCode_E2E(t *testing.T) {
	claude := claudeBinary(t)
	s, srv, key, tok := serveOneAccount(t, "claude-e2e", "claude-code")
	home, workdir := clientDirs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	run := func(label, prompt string, extra ...string) string {
		t.Helper()
		args := append([]string{"-p", prompt, "--output-format", "text"}, extra...)
		cmd := exec.CommandContext(ctx, claude, args...)
		cmd.Dir = workdir
		cmd.Env = claudeEnv(srv.base, key, home)
		return s.mustAnswer(ctx, srv, label, "claude -p", cmd)
	}

	run("plain answer", "say hi")
	st := s.sim.Stats()
	if st.Refreshes != 0 || st.ResponsesComplete < 1 || st.BadRequests != 0 {
		t.Fatalf("after the first run: %+v", st)
	}

	t.Run("tool use", func(t *testing.T) {
		before := s.sim.Stats()
		out := run("tool use", `Run this. openaisim:call Bash {"command":"echo codexgate-tool-ran","description":"Print a marker"}`,
			"--allowedTools", "Bash")
		after := s.sim.Stats()
		if after.FunctionCalls-before.FunctionCalls != 1 {
			t.Errorf("the simulator called %d tools, want 1", after.FunctionCalls-before.FunctionCalls)
		}
		// The tool really ran: its output came back in the tool_result.
		if !strings.Contains(out, "[tool output: codexgate-tool-ran") {
			t.Errorf("final answer lacks the tool output:\n%s\nserve:\n%s", out, srv.logs)
		}
	})

	if err := s.sim.ExpireAccessTokens(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	before := s.sim.Stats()
	run("after the access token expired", "say hi again")
	after := s.sim.Stats()
	if n := after.Refreshes - before.Refreshes; n != 1 || after.ReuseRejections != 0 || after.Unauthorized-before.Unauthorized < 1 {
		t.Fatalf("after expiry: %d refreshes (want exactly 1), %d reuse rejections, %d upstream 401s (want ≥ 1)",
			n, after.ReuseRejections, after.Unauthorized-before.Unauthorized)
	}
	srv.stop(t)
}
