package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/console"
)

// getStatus asks GET /v1/admin/status with key ("" sends none).
func getStatus(t *testing.T, base, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/v1/admin/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitStatus polls the status with an admin key until ok accepts it.
func waitStatus(t *testing.T, base, key string, ok func(console.Status) bool) console.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := getStatus(t, base, key)
		if code != http.StatusOK {
			t.Fatalf("GET /v1/admin/status with the admin key: %d %s", code, b)
		}
		var st console.Status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("status JSON: %v: %s", err, b)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never reached the expected state: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestConsole_Authorisation: the status JSON answers an admin key only (no
// key and a revoked admin key 401, a client key 403), an admin key is no
// client key, the page is self-contained, and no token or key appears in
// the JSON. It also shows what serve's quota poll and usage flush wrote.
func TestConsole_Authorisation(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, tok := s.newLogin(openaisim.Account{Name: "erin"})
	mustSucceed(t, s.run("import", "--account", "erin", "--auth-file", file))
	client := s.createKey("laptop")
	r := s.run("keys", "create", "--name", "ops", "--admin")
	mustSucceed(t, r)
	admin := strings.TrimSpace(r.stdout)
	r = s.run("keys", "create", "--name", "old-ops", "--admin")
	mustSucceed(t, r)
	revoked := strings.TrimSpace(r.stdout)
	mustSucceed(t, s.run("keys", "revoke", "--name", "old-ops"))
	mustFail(t, s.run("keys", "create", "--name", "x", "--admin", "--daily-tokens", "5"), 2, "no token budget")

	list := s.run("keys", "list", "--json")
	mustSucceed(t, list)
	var keys []keyRow
	if err := json.Unmarshal([]byte(list.stdout), &keys); err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{}
	for _, k := range keys {
		roles[k.Name] = k.Admin
	}
	if roles["laptop"] || !roles["ops"] || !roles["old-ops"] {
		t.Errorf("keys list --json admin flags = %v", roles)
	}
	if tl := s.run("keys", "list"); !regexp.MustCompile(`(?m)^ops\s+cgk_\S+\s+admin\s`).MatchString(tl.stdout) {
		t.Errorf("keys list lacks ROLE admin for ops:\n%s", tl.stdout)
	}

	srv := s.startServe()

	for _, c := range []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", http.StatusUnauthorized, "invalid_api_key"},
		{"client key", client, http.StatusForbidden, "permission_denied"},
		{"revoked admin key", revoked, http.StatusUnauthorized, "invalid_api_key"},
		{"unknown key", "cgk_" + strings.Repeat("A", 43), http.StatusUnauthorized, "invalid_api_key"},
	} {
		code, b := getStatus(t, srv.base, c.key)
		var e struct {
			Error struct{ Code, Message string }
		}
		if code != c.status || json.Unmarshal(b, &e) != nil || e.Error.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, b, c.status, c.code)
		}
	}

	// An admin key is no client key.
	resp := post(t, srv.base+"/v1/responses", admin, responsesBody)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("admin key on /v1/responses: %d %s, want 401", resp.StatusCode, b)
	}
	// A client request, counted for the key's usage.
	resp = post(t, srv.base+"/v1/responses", client, responsesBody)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client key on /v1/responses: %d", resp.StatusCode)
	}

	st := waitStatus(t, srv.base, admin, func(st console.Status) bool {
		return len(st.Accounts) == 1 && st.Accounts[0].FiveHour != nil && st.Accounts[0].Weekly != nil &&
			len(st.Keys) == 1 && st.Keys[0].Today.Requests == 1
	})
	a := st.Accounts[0]
	if a.Name != "erin" || a.Status != console.StatusOK || a.QuotaFetchedAt == nil || a.TokenExpiresAt == nil ||
		a.RefreshesLeft == nil || *a.RefreshesLeft != a.RefreshBurst || a.RefreshBurst == 0 {
		t.Errorf("account row = %+v", a)
	}
	k := st.Keys[0]
	if k.Name != "laptop" || k.Today.Tokens == 0 || k.Week.Requests != 1 || len(k.Days) != 7 || len(st.Days) != 7 ||
		k.Days[6].Requests != 1 || k.DailyUsed != k.Today.Tokens {
		t.Errorf("key row = %+v (days %v)", k, st.Days)
	}
	if st.Deployment.Runtime != "serve" || st.Deployment.Version == "" || st.Deployment.AccountsLoadedAt == nil {
		t.Errorf("deployment = %+v", st.Deployment)
	}
	_, raw := getStatus(t, srv.base, admin)
	checkNoSecrets := func(raw []byte) {
		t.Helper()
		for _, secret := range []string{admin, client, revoked, tok.AccessToken, tok.RefreshToken, tok.IDToken, "cgk_", "eyJ"} {
			if secret != "" && strings.Contains(string(raw), secret) {
				t.Fatalf("status JSON carries a token or key (%.8s…): %s", secret, raw)
			}
		}
	}
	checkNoSecrets(raw)

	// An operator's pause and priority show at the next read.
	mustSucceed(t, s.run("accounts", "pause", "erin"))
	mustSucceed(t, s.run("accounts", "priority", "erin", "5"))
	waitStatus(t, srv.base, admin, func(st console.Status) bool {
		return st.Accounts[0].Status == console.StatusPaused && st.Accounts[0].Priority == 5
	})
	mustSucceed(t, s.run("accounts", "resume", "erin"))
	waitStatus(t, srv.base, admin, func(st console.Status) bool { return st.Accounts[0].Status == console.StatusOK })

	// A dead login: the refresh routine's event is stored (before the CLI
	// exits) and shown, and the account needs a re-login.
	if err := s.sim.RevokeAccount(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	if r := s.run("refresh", "--account", "erin", "--force"); r.code == 0 {
		t.Fatalf("refresh of a revoked login succeeded: %s", r)
	}
	st = waitStatus(t, srv.base, admin, func(st console.Status) bool { return len(st.Events) > 0 })
	if ev := st.Events[0]; ev.Account != "erin" || ev.Kind != "reauth_required" || ev.Reason == "" ||
		st.Accounts[0].Status != console.StatusReauthRequired {
		t.Errorf("after a dead login: events %+v, account %+v", st.Events, st.Accounts[0])
	}
	_, raw = getStatus(t, srv.base, admin)
	checkNoSecrets(raw)

	// The page: no data, nothing external, a CSP that allows nothing else.
	presp, err := http.Get(srv.base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	csp := presp.Header.Get("Content-Security-Policy")
	if presp.StatusCode != http.StatusOK || !strings.HasPrefix(presp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("GET /status: %d %q CSP %q", presp.StatusCode, presp.Header.Get("Content-Type"), csp)
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(`).Match(page) {
		t.Error("the page refers to an external resource")
	}
	if strings.Contains(string(page), "erin") {
		t.Error("the page itself holds data")
	}

	srv.stop(t)
	if logs := srv.logs.String(); !strings.Contains(logs, "quota poll") {
		t.Errorf("serve logged no quota poll:\n%s", logs)
	}
}
