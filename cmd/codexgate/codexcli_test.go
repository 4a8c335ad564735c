package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// codexBinary finds the pinned Codex CLI (`make tools` installs it into
// .tools/codex), else one on PATH. Without it the test is skipped, except
// with CI=true, where a missing client is a broken pipeline.
func codexBinary(t *testing.T) string {
	t.Helper()
	pinned := filepath.Join(testsupport.RepoRoot(t), ".tools", "codex", "node_modules", ".bin", "codex")
	if _, err := os.Stat(pinned); err == nil {
		return pinned
	}
	if p, err := exec.LookPath("codex"); err == nil {
		return p
	}
	const msg = "Codex CLI not found in .tools/codex or on PATH: run `make tools` (npm i --prefix .tools/codex @openai/codex@0.169.0)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing client is a failure)")
	}
	t.Skip(msg)
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

// TestCodexCLI_E2E is issue 5's done-when: the real Codex CLI, configured as
// a user would, talks to `codexgate serve`, which talks to the simulator.
// After the simulator invalidates the access token, a second run still
// succeeds with exactly one refresh (the proxy's 401 → forced refresh →
// replay path).
func TestCodexCLI_E2E(t *testing.T) {
	codex := codexBinary(t)
	s := newStack(t, openaisim.Options{})
	file, tok := s.newLogin(openaisim.Account{Name: "codex-e2e"})
	mustSucceed(t, s.run("import", "--account", "e2e", "--auth-file", file))
	key := s.createKey("codex-cli")
	srv := s.startServe()

	home := t.TempDir()
	codexHome := filepath.Join(home, ".codex")
	workdir := filepath.Join(home, "work")
	for _, d := range []string{codexHome, workdir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(codexConfig(srv.base)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	exec1 := func(label string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, codex, "exec", "--skip-git-repo-check", "--ephemeral",
			"--sandbox", "read-only", "--color", "never", "say hi")
		cmd.Dir = workdir
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"CODEX_HOME=" + codexHome,
			"CODEXGATE_API_KEY=" + key,
			"TMPDIR=" + os.TempDir(),
			// Nothing but the loopback: anything else Codex tries fails fast.
			"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
			"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		}
		out, errb, err := runClient(ctx, cmd)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s: codex exec timed out\nstderr:\n%s\nserve:\n%s", label, errb, srv.logs)
		}
		if err != nil || !strings.Contains(out, openaisim.DefaultAnswer) {
			t.Fatalf("%s: codex exec: %v\nstdout:\n%s\nstderr:\n%s\nserve:\n%s\nsim stats: %+v",
				label, err, out, errb, srv.logs, s.sim.Stats())
		}
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
