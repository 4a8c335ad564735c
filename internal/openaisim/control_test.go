package openaisim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestSim_Control_DrivesASeparateSim(t *testing.T) {
	f := newFixture(t, Options{})
	ctl := func(method, path, body string) result {
		return do(t, newReq(t, method, f.srv.URL+path, "application/json", []byte(body)))
	}

	r := ctl("POST", "/_sim/accounts", `{"id":"acct_ctl","name":"ctl","email":"ctl@example.com"}`)
	var doc struct {
		APIKey      *string `json:"OPENAI_API_KEY"`
		Tokens      Tokens  `json:"tokens"`
		LastRefresh string  `json:"last_refresh"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil || r.status != 200 || doc.APIKey != nil || doc.Tokens.AccountID != "acct_ctl" || doc.LastRefresh == "" {
		t.Fatalf("accounts: %d %s (%v)", r.status, r.raw, err)
	}
	tok := doc.Tokens
	if r := f.responses(t, tok); r.status != 200 {
		t.Fatalf("auth.json tokens: %d", r.status)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/_sim/expire?account=acct_ctl", "", 204},
		{"POST", "/_sim/expire?account=acct_nobody", "", 404},
		{"POST", "/_sim/usage-limit?account=acct_ctl&resets_in=600", "", 204},
		{"POST", "/_sim/usage-limit?account=acct_ctl&resets_in=soon", "", 400},
		{"POST", "/_sim/faults", `{"path":"/oauth/token","status":502,"count":1}`, 204},
		{"POST", "/_sim/faults", `{"path":"/oauth/token","bogus":1}`, 400},
		{"POST", "/_sim/accounts", `{"nope":true}`, 400},
		{"GET", "/_sim/nothing", "", 404},
	} {
		if r := ctl(tc.method, tc.path, tc.body); r.status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.raw, tc.status)
		}
	}
	if r := f.responses(t, tok); r.errCode() != "token_expired" {
		t.Fatalf("after /_sim/expire: %d %s", r.status, r.raw)
	}
	if r := f.refresh(t, tok.RefreshToken, false); r.status != 502 {
		t.Fatalf("fault via control API: %d", r.status)
	}
	next := tokensFrom(t, f.refresh(t, tok.RefreshToken, false), tok.AccountID)
	if r := f.responses(t, next); r.status != 429 {
		t.Fatalf("after /_sim/usage-limit: %d %s", r.status, r.raw)
	}
	if r := ctl("DELETE", "/_sim/usage-limit?account=acct_ctl", ""); r.status != 204 {
		t.Fatalf("clear limit: %d", r.status)
	}
	if r := f.responses(t, next); r.status != 200 {
		t.Fatalf("after clearing the limit: %d", r.status)
	}

	r = ctl("GET", "/_sim/stats", "")
	var st Stats
	if err := json.Unmarshal([]byte(r.raw), &st); err != nil || st.Refreshes != 1 || st.UsageLimited != 1 || st.Accounts["acct_ctl"].Refreshes != 1 {
		t.Fatalf("stats: %s (%v)", r.raw, err)
	}
	if r := ctl("POST", "/_sim/reset-stats", ""); r.status != http.StatusNoContent || f.sim.Stats().Refreshes != 0 {
		t.Fatalf("reset-stats: %d", r.status)
	}
	if r := ctl("POST", "/_sim/advance?by=2h", ""); r.status != 204 {
		t.Fatalf("advance: %d", r.status)
	}
	if r := f.responses(t, next); r.errCode() != "token_expired" {
		t.Fatalf("after advancing past exp: %d %s", r.status, r.raw)
	}
	if r := ctl("GET", "/_sim/health", ""); r.status != 200 || r.raw != "ok" {
		t.Fatalf("health: %d %q", r.status, r.raw)
	}
}
