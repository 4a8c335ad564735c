package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// TestKeys_Controls: keys create/update/list with --models, --accounts and
// --max-concurrent against the table, bad input refused with exit 2 and
// nothing written, and each control at work through `codexgate serve`.
func TestKeys_Controls(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	for _, name := range []string{"work", "home"} {
		file, _ := s.newLogin(openaisim.Account{Name: name})
		mustSucceed(t, s.run("import", "--account", name, "--auth-file", file))
	}

	// Bad input: one line, exit 2, no key written.
	mustFail(t, s.run("keys", "create", "--name", "team", "--accounts", "work,nope"), 2, `--accounts: no account named "nope"`)
	mustFail(t, s.run("keys", "create", "--name", "team", "--max-concurrent", "-1"), 2, "--max-concurrent -1")
	mustFail(t, s.run("keys", "create", "--name", "team", "--models", "gpt-5.1-codex,,gpt-5-codex"), 2, "empty model name")
	r := s.run("keys", "list")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "no keys yet") {
		t.Fatalf("a refused create wrote a key:\n%s", r.stdout)
	}

	r = s.run("keys", "create", "--name", "team", "--models", "gpt-5.1-codex, gpt-5-codex", "--accounts", "home", "--max-concurrent", "1")
	mustSucceed(t, r)
	key := strings.TrimSpace(r.stdout)
	r = s.run("keys", "list")
	mustSucceed(t, r)
	if !regexp.MustCompile(`(?m)^team\s.*active\s+-\s+-\s+gpt-5\.1-codex,gpt-5-codex\s+home\s+1$`).MatchString(r.stdout) {
		t.Errorf("keys list:\n%s", r.stdout)
	}

	// keys update: a flag not given is unchanged; a refused update changes nothing.
	mustFail(t, s.run("keys", "update", "--name", "team"), 2, "want --models, --accounts or --max-concurrent")
	mustFail(t, s.run("keys", "update", "--name", "team", "--accounts", "ghost", "--models", ""), 2, `no account named "ghost"`)
	mustFail(t, s.run("keys", "update", "--name", "team", "--max-concurrent", "-5"), 2, "--max-concurrent -5")
	mustFail(t, s.run("keys", "update", "--name", "nobody", "--max-concurrent", "2"), 1, `no active key named "nobody"`)
	r = s.run("keys", "update", "--name", "team", "--models", "gpt-5.1-codex")
	mustSucceed(t, r)
	if strings.TrimSpace(r.stdout) != "key team: models gpt-5.1-codex" {
		t.Errorf("keys update stdout: %q", r.stdout)
	}
	rows := keyRows(t, s)
	if len(rows) != 1 || !slices.Equal(rows[0].Models, []string{"gpt-5.1-codex"}) || !slices.Equal(rows[0].Accounts, []string{"home"}) || rows[0].MaxConcurrent != 1 {
		t.Fatalf("keys list --json after update: %+v", rows)
	}

	srv := s.startServe()
	status := func(path, body string) (int, http.Header, string) {
		resp, b := postRead(t, srv.base+path, key, body)
		return resp.StatusCode, resp.Header, string(b)
	}
	if code, _, body := status("/v1/responses", responsesBody); code != http.StatusOK {
		t.Fatalf("allowed model: %d %s", code, body)
	}
	// The request line is logged after the answer's last byte.
	waitFor(t, "the key bound to home served by home", func() bool {
		return regexp.MustCompile(`key=team account=home `).MatchString(srv.logs.String())
	})
	code, _, body := status("/v1/responses", strings.Replace(responsesBody, "gpt-5.1-codex", "gpt-5-codex", 1))
	if code != http.StatusForbidden || !strings.Contains(body, `"code":"model_not_allowed"`) {
		t.Errorf("model off the list: %d %s", code, body)
	}

	// The cap: with every turn held upstream for 2 s, of two requests at
	// once one is served and the other refused at once.
	s.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", Delay: 2 * time.Second})
	type answer struct {
		code       int
		retryAfter string
		body       string
		took       time.Duration
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			start := time.Now()
			code, hdr, body := status("/v1/responses", responsesBody)
			answers <- answer{code, hdr.Get("Retry-After"), body, time.Since(start)}
		}()
	}
	a, b := <-answers, <-answers
	if a.code != http.StatusTooManyRequests || a.retryAfter != "1" || !strings.Contains(a.body, "concurrency_limit_exceeded") || a.took > time.Second ||
		b.code != http.StatusOK {
		t.Errorf("two requests over a cap of 1: first answer %d (Retry-After %q, %s) %s; second %d", a.code, a.retryAfter, a.took, a.body, b.code)
	}
	s.sim.ClearFaults()
	if code, _, body := status("/v1/responses", responsesBody); code != http.StatusOK {
		t.Errorf("after the held request ended: %d %s", code, body)
	}
	srv.stop(t)

	// Clearing every control.
	mustSucceed(t, s.run("keys", "update", "--name", "team", "--models", "", "--accounts", "", "--max-concurrent", "0"))
	rows = keyRows(t, s)
	if len(rows[0].Models) != 0 || len(rows[0].Accounts) != 0 || rows[0].MaxConcurrent != 0 {
		t.Errorf("after clearing: %+v", rows[0])
	}
}

func keyRows(t *testing.T, s *stack) []keyRow {
	t.Helper()
	r := s.run("keys", "list", "--json")
	mustSucceed(t, r)
	var rows []keyRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, r.stdout)
	}
	for _, f := range []string{`"models"`, `"accounts"`, `"max_concurrent"`} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("keys list --json lacks %s:\n%s", f, r.stdout)
		}
	}
	return rows
}

// TestKeyControls_Clients: a key allowed one model, as the OpenAI Node SDK,
// the Anthropic TS SDK and the Codex CLI see it through `codexgate serve`.
func TestKeyControls_Clients(t *testing.T) {
	node, openaiModules := nodeModule(t, "openai", "openai")
	_, anthropicModules := nodeModule(t, "anthropic-sdk", "@anthropic-ai/sdk")
	codex := codexBinary(t)
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "keyctl"})
	mustSucceed(t, s.run("import", "--account", "main", "--auth-file", file))
	r := s.run("keys", "create", "--name", "one-model", "--models", "gpt-5.1-codex")
	mustSucceed(t, r)
	key := strings.TrimSpace(r.stdout)
	srv := s.startServe()

	t.Run("sdks", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := nodeScript(ctx, node, openaiModules+":"+anthropicModules, []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"CODEXGATE_URL=" + srv.base, "CODEXGATE_API_KEY=" + key, "WANT_ANSWER=" + openaisim.DefaultAnswer,
		}, "keyctl_sdks.cjs")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s\nserve:\n%s", err, out, srv.logs)
		}
		t.Logf("%s", strings.TrimSpace(string(out)))
	})

	t.Run("codex", func(t *testing.T) {
		c := newCodexClient(t, codex, codexConfig(srv.base))
		run := func(model string) (string, string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, errb, err := runClient(ctx, c.command(ctx, key, model))
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("codex exec -m %s timed out\nstderr:\n%s\nserve:\n%s", model, errb, srv.logs)
			}
			return out, errb, err
		}
		if out, errb, err := run("gpt-5.1-codex"); err != nil || !strings.Contains(out, openaisim.DefaultAnswer) {
			t.Fatalf("allowed model: %v\nstdout:\n%s\nstderr:\n%s\nserve:\n%s", err, out, errb, srv.logs)
		}
		before := s.sim.Stats().ResponsesOK
		out, errb, err := run("gpt-5-codex")
		if err == nil || strings.Contains(out, openaisim.DefaultAnswer) || !strings.Contains(out+errb, "not allowed for this API key") {
			t.Fatalf("model off the list: %v\nstdout:\n%s\nstderr:\n%s", err, out, errb)
		}
		if after := s.sim.Stats().ResponsesOK; after != before {
			t.Errorf("a refused turn reached the backend (%d → %d)", before, after)
		}
		waitFor(t, "a 403 in serve's log", func() bool {
			return strings.Contains(srv.logs.String(), "status=403 key=one-model")
		})
	})
	srv.stop(t)
}
