package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// binary is the codexgate CLI built once for every test: tests drive it as
// a user would, with real flags, against moto and the simulator.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "codexgate-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "codexgate")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build codexgate:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished CLI run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// stack is one test's private world: a table and secret prefix on the moto
// stack, a simulator standing in for OpenAI, and the environment pointing
// the CLI at both.
type stack struct {
	t     *testing.T
	sim   *openaisim.Sim
	url   string // simulator base URL
	env   []string
	aws   aws.Config
	table string
}

// newStack needs the local AWS stack (make test); without it the test is
// skipped (or fails with CI=true).
func newStack(t *testing.T, opts openaisim.Options) *stack {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	prefix := testsupport.SecretPrefix(t)
	sim := openaisim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	s := &stack{t: t, sim: sim, url: srv.URL, aws: cfg, table: table}
	s.env = cliEnv(map[string]string{
		"CODEXGATE_TABLE":         table,
		"CODEXGATE_SECRET_PREFIX": prefix,
		"CODEXGATE_UPSTREAM_URL":  srv.URL + "/backend-api/codex",
		"CODEXGATE_TOKEN_URL":     srv.URL + "/oauth/token",
		"CODEXGATE_USAGE_URL":     srv.URL + "/backend-api/wham/usage",
		"CODEXGATE_AUTHORIZE_URL": srv.URL + "/oauth/authorize",
	})
	return s
}

// cliEnv is the test process's environment without CODEXGATE_* settings,
// plus set.
func cliEnv(set map[string]string) []string {
	env := testsupport.Environ()
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// run runs the CLI with args and no stdin.
func (s *stack) run(args ...string) result {
	s.t.Helper()
	return runCLI(s.t, s.env, "", args...)
}

func runCLI(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run codexgate %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// newLogin registers a simulator account, starts a fresh login for it and
// writes it as a Codex auth.json in a temp dir.
func (s *stack) newLogin(acct openaisim.Account) (path string, tokens openaisim.Tokens) {
	s.t.Helper()
	tokens = s.sim.AddAccount(acct)
	path = filepath.Join(s.t.TempDir(), "auth.json")
	if err := os.WriteFile(path, s.sim.AuthJSON(tokens), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path, tokens
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("want success, got %s", r)
	}
}

// mustFail fails the test unless r exited with code and printed one line
// to stderr containing want.
func mustFail(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Fatalf("want one stderr line containing %q, got %s", want, r)
	}
}

// noSecrets fails the test if any output carries one of the secrets.
func noSecrets(t *testing.T, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && (strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s)) {
			t.Fatalf("output leaks a secret (%.8s…): %s", s, r)
		}
	}
}
