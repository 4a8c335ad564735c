package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// TestImport_BadFile: every bad file fails before any AWS call, with one
// clear line and exit 1.
func TestImport_BadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "nope.json"), "no such file or directory"},
		{"malformed JSON", write("bad.json", `{"tokens": {`), "not a JSON object"},
		{"no tokens", write("apikey.json", `{"OPENAI_API_KEY":"sk-x"}`), `no "tokens" object`},
		{"no refresh token", write("norefresh.json", `{"tokens":{"id_token":"a.b.c","access_token":"a.b.c","account_id":"x"}}`), "tokens.refresh_token is missing"},
		{"repo fixture without refresh token", "../../shared/codex/testdata/auth_no_refresh_token.json", "refresh_token is missing"},
	}
	env := cliEnv(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, env, "", "import", "--account", "work", "--auth-file", tt.file)
			mustFail(t, r, 1, tt.want)
		})
	}
}

func TestImport_StoresAndRefusesDuplicates(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	alice := openaisim.Account{ID: "acct-alice-0001", Name: "alice", Email: "alice@example.com", Plan: "pro"}
	file, tok := s.newLogin(alice)

	r := s.run("import", "--account", "work", "--auth-file", file)
	mustSucceed(t, r)
	if !strings.HasPrefix(r.stdout, "imported account work (") || !strings.Contains(r.stdout, "alice@example.com") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout = %q", r.stdout)
	}
	noSecrets(t, r, tok.AccessToken, tok.RefreshToken, tok.IDToken, tok.AccountID)

	rows := accountsJSON(t, s)
	if len(rows) != 1 || rows[0].Name != "work" || rows[0].Email != "alice@example.com" || rows[0].Plan != "pro" || rows[0].Status != "ok" {
		t.Fatalf("accounts = %+v", rows)
	}

	// The same ChatGPT account under another name: refused, nothing stored.
	file2, _ := s.newLogin(alice)
	r = s.run("import", "--account", "work2", "--auth-file", file2)
	mustFail(t, r, 1, `is already stored as account "work"`)
	// The very same login under another name: refused, even with --replace
	// (one refresh token in two secrets is spent twice).
	r = s.run("import", "--account", "copy", "--auth-file", file)
	mustFail(t, r, 1, `this login is already stored as account "work"`)
	r = s.run("import", "--account", "copy", "--auth-file", file, "--replace")
	mustFail(t, r, 1, `this login is already stored as account "work"`)
	if rows := accountsJSON(t, s); len(rows) != 1 {
		t.Fatalf("a refused import stored something: %+v", rows)
	}
	// A re-login of the same account under its own name needs no flag.
	file3, _ := s.newLogin(alice)
	mustSucceed(t, s.run("import", "--account", "work", "--auth-file", file3))
	// The same file again after codexgate rotated its token: refused, it
	// would put back a spent refresh token; --replace changes nothing there
	// (it is about names and accounts, never about spent tokens).
	mustSucceed(t, s.run("refresh", "--account", "work", "--force"))
	before := s.sim.Stats().Refreshes
	r = s.run("import", "--account", "work", "--auth-file", file3)
	mustFail(t, r, 1, "refresh token was already spent by a refresh codexgate made")
	r = s.run("import", "--account", "work", "--auth-file", file3, "--replace")
	mustFail(t, r, 1, "refresh token was already spent by a refresh codexgate made")
	mustSucceed(t, s.run("refresh", "--account", "work", "--force"))
	if st := s.sim.Stats(); st.Refreshes != before+1 || st.ReuseRejections != 0 {
		t.Fatalf("after the refused import: refreshes %d→%d, reuse %d: the stored token was replaced", before, st.Refreshes, st.ReuseRejections)
	}

	// --replace overrides.
	mustSucceed(t, s.run("import", "--account", "work2", "--auth-file", file2, "--replace"))

	// A name already holding another ChatGPT account: refused unless --replace.
	bobFile, _ := s.newLogin(openaisim.Account{Name: "bob"})
	r = s.run("import", "--account", "work", "--auth-file", bobFile)
	mustFail(t, r, 1, `account "work" already holds ChatGPT account`)
	mustSucceed(t, s.run("import", "--account", "work", "--auth-file", bobFile, "--replace"))
	for _, row := range accountsJSON(t, s) {
		if row.Name == "work" && row.Email != "bob@example.com" {
			t.Errorf("work = %+v, want bob's login after --replace", row)
		}
	}
}

// TestImport_ClearsReauth: an account whose login died is repaired by
// importing a new login, as the reauth message tells the user to do.
func TestImport_ClearsReauth(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, tok := s.newLogin(openaisim.Account{Name: "carol"})
	mustSucceed(t, s.run("import", "--account", "carol", "--auth-file", file))

	if err := s.sim.RevokeAccount(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	r := s.run("refresh", "--account", "carol", "--force")
	mustFail(t, r, 1, "needs re-login")
	noSecrets(t, r, tok.RefreshToken, tok.AccessToken)
	rows := accountsJSON(t, s)
	if len(rows) != 1 || rows[0].Status != statusReauth || rows[0].Reason == "" {
		t.Fatalf("after a revoked login: %+v", rows)
	}
	r = s.run("accounts")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "reauth_required (") {
		t.Errorf("table does not show reauth_required with a reason:\n%s", r.stdout)
	}

	file2, _ := s.newLogin(openaisim.Account{ID: tok.AccountID})
	mustSucceed(t, s.run("import", "--account", "carol", "--auth-file", file2))
	if rows := accountsJSON(t, s); rows[0].Status != statusOK {
		t.Fatalf("after a new import: %+v", rows)
	}
	r = s.run("refresh", "--account", "carol", "--force")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "refreshed") {
		t.Errorf("refresh stdout = %q", r.stdout)
	}
}

func accountsJSON(t *testing.T, s *stack) []accountRow {
	t.Helper()
	r := s.run("accounts", "--json")
	mustSucceed(t, r)
	var rows []accountRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("accounts --json: %v\n%s", err, r.stdout)
	}
	return rows
}
