package main

import (
	"context"
	"os"
	"testing"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
)

// TestExport_WritesTheRotatedLoginBack: after codexgate rotated the login
// imported from a file, export puts the live refresh token back in the file
// (the old one is spent), keeps the old file as .bak, and the file is usable:
// a refresh from it is no reuse.
func TestExport_WritesTheRotatedLoginBack(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "eve"})
	mustSucceed(t, s.run("import", "--account", "eve", "--auth-file", file))
	mustSucceed(t, s.run("refresh", "--account", "eve", "--force"))
	before, _ := os.ReadFile(file)

	r := s.run("export", "--account", "eve", "--auth-file", file)
	mustSucceed(t, r)
	after, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if bak, _ := os.ReadFile(file + ".bak"); string(bak) != string(before) {
		t.Error("the previous file was not kept as .bak")
	}
	old, _ := codex.ParseAuthFile("eve", before)
	exported, err := codex.ParseAuthFile("eve", after)
	if err != nil || exported.Token.Refresh == old.Token.Refresh {
		t.Fatalf("exported file does not hold the rotated login (err %v)", err)
	}
	noSecrets(t, r, exported.Token.Refresh, exported.Token.Access)

	// The file's refresh token is the live one: OpenAI accepts it.
	oauth := &codex.OAuthClient{TokenURL: s.url + "/oauth/token"}
	if _, err := oauth.Refresh(context.Background(), exported.Token.Refresh); err != nil {
		t.Fatalf("the exported refresh token does not refresh: %v", err)
	}
	if st := s.sim.Stats(); st.ReuseRejections != 0 {
		t.Fatalf("reuse %d", st.ReuseRejections)
	}

	// Exporting again is a no-op that says so.
	mustSucceed(t, s.run("export", "--account", "eve", "--auth-file", file))
}

func TestExport_Refusals(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "fay"})
	mustSucceed(t, s.run("import", "--account", "fay", "--auth-file", file))
	other, _ := s.newLogin(openaisim.Account{Name: "gus"})
	mustFail(t, s.run("export", "--account", "fay", "--auth-file", other), 1, "pass --force")
	mustFail(t, s.run("export", "--account", "nobody", "--auth-file", other), 1, `account "nobody" not found`)
	mustFail(t, s.run("export", "--account", "fay"), 2, "--auth-file is required")
	mustSucceed(t, s.run("export", "--account", "fay", "--auth-file", other, "--force"))
}
