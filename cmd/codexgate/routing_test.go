package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/statestore"
)

// settings reads the account settings from the table.
func (s *stack) settings() statestore.Snapshot {
	s.t.Helper()
	snap, err := statestore.New(dynamodb.NewFromConfig(s.aws), s.table).Load(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return snap
}

// accountsJSON runs `accounts --json`.
func (s *stack) accountsJSON() map[string]accountRow {
	s.t.Helper()
	r := s.run("accounts", "--json")
	mustSucceed(s.t, r)
	var rows []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		s.t.Fatalf("accounts --json: %v\n%s", err, r.stdout)
	}
	out := map[string]accountRow{}
	for _, row := range rows {
		out[row.Name] = row
	}
	return out
}

// TestAccounts_PauseResumePriority: the commands write the registry item
// only for a registered account, `accounts` (table and --json) shows what
// they wrote, and bad input is a one-line usage error that writes nothing.
func TestAccounts_PauseResumePriority(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	for _, name := range []string{"kim", "lee"} {
		file, _ := s.newLogin(openaisim.Account{Name: name})
		mustSucceed(t, s.run("import", "--account", name, "--auth-file", file))
	}

	mustFail(t, s.run("accounts", "pause", "nobody"), exitUsage, `unknown account "nobody"`)
	mustFail(t, s.run("accounts", "resume", "nobody"), exitUsage, `unknown account "nobody"`)
	mustFail(t, s.run("accounts", "priority", "nobody", "1"), exitUsage, `unknown account "nobody"`)
	mustFail(t, s.run("accounts", "pause"), exitUsage, "want 1 argument")
	mustFail(t, s.run("accounts", "pause", "kim", "lee"), exitUsage, "want 1 argument")
	mustFail(t, s.run("accounts", "priority", "kim"), exitUsage, "want 2 argument")
	mustFail(t, s.run("accounts", "priority", "kim", "high"), exitUsage, "want an integer from -1000 to 1000")
	mustFail(t, s.run("accounts", "priority", "kim", "1001"), exitUsage, "want an integer from -1000 to 1000")
	if snap := s.settings(); len(snap.Settings) != 0 || !slices.Equal(snap.Registered, []string{"kim", "lee"}) {
		t.Fatalf("bad input wrote: %+v", snap)
	}
	r := s.run("accounts", "pause", "--help")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, pauseUsage) || !strings.Contains(r.stdout, "refreshed") {
		t.Errorf("pause --help = %q", r.stdout)
	}

	r = s.run("accounts", "pause", "kim")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, `paused account "kim"`) {
		t.Errorf("pause stdout = %q", r.stdout)
	}
	mustSucceed(t, s.run("accounts", "priority", "lee", "-2"))
	rows := s.accountsJSON()
	if k, l := rows["kim"], rows["lee"]; !k.Paused || k.PausedAt == nil || k.Priority != 0 || l.Paused || l.Priority != -2 {
		t.Errorf("accounts --json: kim %+v, lee %+v", k, l)
	}
	r = s.run("accounts")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "PAUSED") || !strings.Contains(r.stdout, "PRIORITY") || !strings.Contains(r.stdout, "paused ") {
		t.Errorf("accounts table:\n%s", r.stdout)
	}
	mustSucceed(t, s.run("accounts", "resume", "kim"))
	if rows := s.accountsJSON(); rows["kim"].Paused || rows["lee"].Priority != -2 {
		t.Errorf("after resume: %+v", rows)
	}
}

// TestServe_PausedAccountSkipped: with fill-first routing every request
// goes to the first account by name; paused, it serves nothing and the
// other account serves; resumed, it serves again. A bad strategy stops
// serve at start with a one-line error.
func TestServe_PausedAccountSkipped(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	ids := map[string]string{}
	for _, name := range []string{"kim", "lee"} {
		file, tok := s.newLogin(openaisim.Account{Name: name})
		mustSucceed(t, s.run("import", "--account", name, "--auth-file", file))
		ids[name] = tok.AccountID
	}
	key := s.createKey("pause")
	base := slices.Clone(s.env)

	s.env = append(slices.Clone(base), "CODEXGATE_ROUTING_STRATEGY=random")
	mustFail(t, s.run("serve", "--addr", "127.0.0.1:0"), 1, "CODEXGATE_ROUTING_STRATEGY")

	s.env = append(slices.Clone(base), "CODEXGATE_ROUTING_STRATEGY=fill-first")
	served := func(label string, want string) {
		t.Helper()
		srv := s.startServe()
		s.sim.ResetStats()
		for range 3 {
			resp := post(t, srv.base+"/v1/responses", key, responsesBody)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: HTTP %d\n%s", label, resp.StatusCode, srv.logs)
			}
		}
		st := s.sim.Stats()
		for name, id := range ids {
			n, w := st.Accounts[id].ResponsesOK, 0
			if name == want {
				w = 3
			}
			if n != w {
				t.Errorf("%s: %s served %d, want %d", label, name, n, w)
			}
		}
		srv.stop(t)
	}
	served("fill-first", "kim")
	mustSucceed(t, s.run("accounts", "pause", "kim"))
	served("kim paused", "lee")
	mustSucceed(t, s.run("accounts", "resume", "kim"))
	mustSucceed(t, s.run("accounts", "priority", "lee", "1"))
	served("kim resumed, lee preferred", "lee")
	mustSucceed(t, s.run("accounts", "priority", "lee", "0"))
	served("kim resumed", "kim")
}

// TestServe_EffortSuffix_NodeSDK: the OpenAI Node SDK lists the suffixed
// names and an alias, and a request for gpt-5.1-codex-high reaches the
// backend as gpt-5.1-codex with reasoning.effort high.
func TestServe_EffortSuffix_NodeSDK(t *testing.T) {
	node, modules := nodeModule(t, "openai", "openai")
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "sfx"})
	mustSucceed(t, s.run("import", "--account", "sfx", "--auth-file", file))
	key := s.createKey("suffix")
	s.env = append(s.env, "CODEXGATE_MODEL_ALIASES=quick=gpt-5.1-codex-mini:low")
	srv := s.startServe()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const script = `
const OpenAI = require("openai");
const c = new OpenAI({ baseURL: process.env.CODEXGATE_BASE_URL, apiKey: process.env.CODEXGATE_API_KEY, maxRetries: 0 });
(async () => {
  const ids = [];
  for await (const m of c.models.list()) ids.push(m.id);
  const r = await c.chat.completions.create({ model: process.env.MODEL, messages: [{ role: "user", content: "hi" }], reasoning_effort: "low" });
  console.log(JSON.stringify({ ids, model: r.model, content: r.choices[0].message.content }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`
	run := func(model string) (ids []string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, node, "-e", script)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CODEXGATE_BASE_URL="+srv.base+"/v1", "CODEXGATE_API_KEY="+key, "MODEL="+model)
		out := nodeOutput(t, srv, cmd)
		var r struct {
			IDs     []string
			Content string
		}
		if err := json.Unmarshal(out, &r); err != nil || r.Content != openaisim.DefaultAnswer {
			t.Fatalf("node output %q: %v", out, err)
		}
		return r.IDs
	}
	ids := run("gpt-5.1-codex-high")
	for _, want := range []string{"gpt-5.1-codex", "gpt-5.1-codex-high", "gpt-5.1-codex-mini-low", "quick"} {
		if !slices.Contains(ids, want) {
			t.Errorf("models.list lacks %q: %v", want, ids)
		}
	}
	if st := s.sim.Stats(); st.LastModel != "gpt-5.1-codex" || st.LastEffort != "high" {
		t.Errorf("upstream got %q at %q, want gpt-5.1-codex at high", st.LastModel, st.LastEffort)
	}
	run("quick")
	if st := s.sim.Stats(); st.LastModel != "gpt-5.1-codex-mini" || st.LastEffort != "low" {
		t.Errorf("alias: upstream got %q at %q", st.LastModel, st.LastEffort)
	}
	run("gpt-5.1-codex-ultra") // not an effort: sent as it is (the simulator takes any model)
	if st := s.sim.Stats(); st.LastModel != "gpt-5.1-codex-ultra" || st.LastEffort != "low" {
		t.Errorf("unknown effort: upstream got %q at %q", st.LastModel, st.LastEffort)
	}
	srv.stop(t)
}

// TestCodexCLI_EffortSuffix: the Codex CLI configured with model
// gpt-5.1-codex-xhigh (it sends its own reasoning.effort too) reaches the
// backend as gpt-5.1-codex at xhigh.
func TestCodexCLI_EffortSuffix(t *testing.T) {
	codex := codexBinary(t)
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "codex-sfx"})
	mustSucceed(t, s.run("import", "--account", "sfx", "--auth-file", file))
	key := s.createKey("codex-cli")
	srv := s.startServe()
	c := newCodexClient(t, codex, strings.Replace(codexConfig(srv.base), `model = "gpt-5.1-codex"`, `model = "gpt-5.1-codex-xhigh"`, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, errb, err := runClient(ctx, c.command(ctx, key, ""))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || err != nil || !strings.Contains(out, openaisim.DefaultAnswer) {
		t.Fatalf("codex exec: %v\nstdout:\n%s\nstderr:\n%s\nserve:\n%s", err, out, errb, srv.logs)
	}
	if st := s.sim.Stats(); st.LastModel != "gpt-5.1-codex" || st.LastEffort != "xhigh" {
		t.Errorf("upstream got %q at %q, want gpt-5.1-codex at xhigh", st.LastModel, st.LastEffort)
	}
	srv.stop(t)
}

// TestDoctor_PausedAccounts: a paused account is shown as such and is no
// failure; every account paused fails the accounts check, loudly.
func TestDoctor_PausedAccounts(t *testing.T) {
	s, srv, key, _ := healthy(t)
	file, _ := s.newLogin(openaisim.Account{Name: "erin"})
	mustSucceed(t, s.run("import", "--account", "erin", "--auth-file", file))
	mustSucceed(t, s.run("accounts", "pause", "erin"))
	mustSucceed(t, s.run("accounts", "priority", "dave", "3"))
	r := s.doctor(key, nil, "--url", srv.base+"/v1")
	if r.code != 0 {
		t.Fatalf("doctor with one account paused: %s", r)
	}
	for _, want := range []string{"2 accounts, 1 ok, 1 paused", "erin: paused (serves nothing until `codexgate accounts resume erin`)", "dave: ok; priority 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	mustSucceed(t, s.run("accounts", "pause", "dave"))
	r = s.doctor(key, nil, "--url", srv.base+"/v1")
	if statusOf(t, r, "accounts") != "FAIL" || !strings.Contains(r.stdout, "EVERY ACCOUNT IS PAUSED (2)") ||
		!strings.Contains(r.stdout, "fix: resume one: `codexgate accounts resume") {
		t.Errorf("doctor with every account paused:\n%s", r.stdout)
	}
}
