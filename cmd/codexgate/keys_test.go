package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/openaisim"
)

func TestKeys_Lifecycle(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	r := s.run("keys", "list")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "no keys yet") {
		t.Errorf("empty list: %q", r.stdout)
	}

	r = s.run("keys", "create", "--name", "laptop")
	mustSucceed(t, r)
	key := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(key, "cgk_") || strings.Contains(key, "\n") {
		t.Fatalf("keys create stdout = %q, want one cgk_ key", r.stdout)
	}
	if !strings.Contains(r.stderr, "shown only once") || strings.Contains(r.stderr, key) {
		t.Errorf("keys create stderr = %q", r.stderr)
	}
	mustFail(t, s.run("keys", "create", "--name", "laptop"), 1, `an active key named "laptop" exists`)
	other := s.createKey("ci")

	r = s.run("keys", "list")
	mustSucceed(t, r)
	noSecrets(t, r, key, other)
	if !strings.Contains(r.stdout, "laptop") || !strings.Contains(r.stdout, key[:8]+"…") || strings.Count(r.stdout, "active") != 2 {
		t.Errorf("keys list:\n%s", r.stdout)
	}

	// A key works until it is revoked; a new server never accepts it again.
	file, _ := s.newLogin(openaisim.Account{Name: "hank"})
	mustSucceed(t, s.run("import", "--account", "hank", "--auth-file", file))
	mustSucceed(t, s.run("keys", "revoke", "--name", "laptop"))
	srv := s.startServe()
	for k, want := range map[string]int{key: http.StatusUnauthorized, other: http.StatusOK} {
		resp := post(t, srv.base+"/v1/responses", k, responsesBody)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("key %.8s…: status %d, want %d", k, resp.StatusCode, want)
		}
	}
	srv.stop(t)

	r = s.run("keys", "list", "--json")
	mustSucceed(t, r)
	var rows []keyRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Name != "laptop" || !rows[0].Revoked || rows[0].RevokedAt == nil || rows[1].Revoked {
		t.Errorf("keys list --json: %s", r.stdout)
	}

	mustFail(t, s.run("keys", "revoke", "--name", "laptop"), 1, `no key named "laptop"`)
	mustFail(t, s.run("keys", "revoke", "--name", "nobody"), 1, `no key named "nobody"`)
	// The name is free again once revoked.
	s.createKey("laptop")
}
