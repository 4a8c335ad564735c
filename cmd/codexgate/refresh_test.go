package main

import (
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

func TestRefresh_UnknownAccount(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	mustFail(t, s.run("refresh", "--account", "ghost"), 1, `account "ghost" not found`)
	mustFail(t, s.run("refresh", "--account", "ghost", "--force"), 1, `account "ghost" not found`)
}

func TestRefresh_ValidTokenLeftAlone(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, tok := s.newLogin(openaisim.Account{Name: "ivy"})
	mustSucceed(t, s.run("import", "--account", "ivy", "--auth-file", file))

	r := s.run("refresh", "--account", "ivy")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "account ivy: still valid, not refreshed; access token valid until ") {
		t.Errorf("stdout = %q", r.stdout)
	}
	if n := s.sim.Stats().RefreshRequests; n != 0 {
		t.Errorf("a valid token was refreshed (%d requests)", n)
	}

	r = s.run("refresh", "--account", "ivy", "--force")
	mustSucceed(t, r)
	noSecrets(t, r, tok.AccessToken, tok.RefreshToken)
	if !strings.Contains(r.stdout, "account ivy: refreshed;") {
		t.Errorf("stdout = %q", r.stdout)
	}
	// Twice more: every forced refresh spends the latest refresh token, never an old one.
	mustSucceed(t, s.run("refresh", "--account", "ivy", "--force"))
	if st := s.sim.Stats(); st.Refreshes != 2 || st.ReuseRejections != 0 {
		t.Errorf("sim: %d refreshes, %d reuse rejections; want 2, 0", st.Refreshes, st.ReuseRejections)
	}
}

// TestRefresh_ExpiringToken: a token inside the refresh skew is renewed
// without --force, and the rotated login is what the next run reads.
func TestRefresh_ExpiringToken(t *testing.T) {
	s := newStack(t, openaisim.Options{AccessTTL: time.Minute})
	file, _ := s.newLogin(openaisim.Account{Name: "jay"})
	mustSucceed(t, s.run("import", "--account", "jay", "--auth-file", file))
	for i := range 2 {
		r := s.run("refresh", "--account", "jay")
		mustSucceed(t, r)
		if !strings.Contains(r.stdout, "account jay: refreshed;") {
			t.Errorf("run %d: stdout = %q", i, r.stdout)
		}
	}
	if st := s.sim.Stats(); st.Refreshes != 2 || st.ReuseRejections != 0 {
		t.Errorf("sim: %d refreshes, %d reuse rejections; want 2, 0", st.Refreshes, st.ReuseRejections)
	}
	rows := accountsJSON(t, s)
	if len(rows) != 1 || rows[0].LastRefresh == nil || time.Since(*rows[0].LastRefresh) > time.Minute {
		t.Errorf("accounts after refresh: %+v", rows)
	}
}
