package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// codexBinary finds the pinned Codex CLI (`make tools` installs it into
// .tools/codex), else one on PATH. Without it the test is skipped (see
// missingClient).
func codexBinary(t *testing.T) string {
	t.Helper()
	if p := pinnedBin(t, "codex", "codex"); p != "" {
		return p
	}
	if p, err := exec.LookPath("codex"); err == nil {
		return p
	}
	missingClient(t, "Codex CLI not found in .tools/codex or on PATH: run `make tools` (npm i --prefix .tools/codex @openai/codex@0.169.0)")
	return ""
}

// codexConfig is docs/DESIGN.md §6.7's provider block, as README and `make dev` print it.
func codexConfig(baseURL string) string {
	return `model_provider = "codexgate"
model = "gpt-5.1-codex"

[model_providers.codexgate]
name = "codexgate"
base_url = "` + baseURL + `/v1"
env_key = "CODEXGATE_API_KEY"
wire_api = "responses"
`
}

// codexClient is the Codex CLI configured as a user would, for one test:
// its own HOME, CODEX_HOME (HOME/.codex) holding config.toml, and a working
// directory.
type codexClient struct{ bin, home, codexHome, workdir string }

func newCodexClient(t *testing.T, bin, config string) *codexClient {
	t.Helper()
	c := &codexClient{bin: bin}
	c.home, c.workdir = clientDirs(t)
	c.codexHome = filepath.Join(c.home, ".codex")
	if err := os.MkdirAll(c.codexHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.codexHome, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// command is `codex exec "say hi"` with key, and with -m model unless
// model is "" (the config's).
func (c *codexClient) command(ctx context.Context, key, model string) *exec.Cmd {
	args := []string{"exec", "--skip-git-repo-check", "--ephemeral", "--sandbox", "read-only", "--color", "never"}
	if model != "" {
		args = append(args, "-m", model)
	}
	cmd := exec.CommandContext(ctx, c.bin, append(args, "say hi")...)
	cmd.Dir = c.workdir
	cmd.Env = clientEnv(c.home, "CODEX_HOME="+c.codexHome, "CODEXGATE_API_KEY="+key)
	return cmd
}

// TestCodexCLI_E2E is issue 5's done-when: the real Codex CLI, configured as
// a user would, talks to `codexgate serve`, which talks to the simulator.
// After the simulator invalidates the access token, a second run still
// succeeds with exactly one refresh (the proxy's 401 → forced refresh →
// replay path).
func TestCodexCLI_E2E(t *testing.T) {
	codex := codexBinary(t)
	s, srv, key, tok := serveOneAccount(t, "codex-e2e", "codex-cli")
	c := newCodexClient(t, codex, codexConfig(srv.base))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	exec1 := func(label string) {
		t.Helper()
		s.mustAnswer(ctx, srv, label, "codex exec", c.command(ctx, key, ""))
	}

	exec1("first run")
	if st := s.sim.Stats(); st.Refreshes != 0 || st.ResponsesOK < 1 {
		t.Fatalf("after the first run: %+v", st)
	}

	if err := s.sim.ExpireAccessTokens(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	exec1("after the access token expired")
	st := s.sim.Stats()
	if st.Refreshes != 1 || st.ReuseRejections != 0 || st.Unauthorized < 1 {
		t.Fatalf("after expiry: %d refreshes (want exactly 1), %d reuse rejections, %d upstream 401s (want ≥ 1)",
			st.Refreshes, st.ReuseRejections, st.Unauthorized)
	}
	srv.stop(t)
}
