package openaisim

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestSim_Refresh_RotatesAndRejectsReuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		form bool
	}{{"json", false}, {"form", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{AccessTTL: 2 * time.Hour, KeepFamilyOnReuse: true})
			first := f.sim.AddAccount(Account{Name: "a"})

			r := f.refresh(t, first.RefreshToken, tc.form)
			second := tokensFrom(t, r, first.AccountID)
			if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
				t.Fatal("refresh did not rotate the tokens")
			}
			if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(7200) || r.body["scope"] != TokenScope {
				t.Fatalf("token answer fields: %v", r.body)
			}

			// The spent token must be refused: a lax simulator accepting reuse fails here.
			r = f.refresh(t, first.RefreshToken, tc.form)
			if r.status != http.StatusUnauthorized || r.errCode() != "refresh_token_reused" {
				t.Fatalf("reuse: got %d %s, want 401 refresh_token_reused", r.status, r.raw)
			}
			e := r.body["error"].(map[string]any)
			if e["type"] != "invalid_request_error" || e["message"] != msgRefreshReused {
				t.Fatalf("reuse error body: %s", r.raw)
			}
			// Without family revocation the rotated token keeps working.
			tokensFrom(t, f.refresh(t, second.RefreshToken, tc.form), first.AccountID)

			st := f.sim.Stats()
			if st.Refreshes != 2 || st.ReuseRejections != 1 || st.RefreshRequests != 3 || st.RefreshFailures != 1 {
				t.Fatalf("stats: %+v", st)
			}
			if a := st.Accounts[first.AccountID]; a.Refreshes != 2 || a.ReuseRejections != 1 || a.Families != 1 {
				t.Fatalf("account stats: %+v", a)
			}
		})
	}
}

func TestSim_Refresh_RevokeFamilyOnReuse(t *testing.T) {
	f := newFixture(t, Options{})
	first := f.sim.AddAccount(Account{})
	other := f.sim.AddAccount(Account{ID: first.AccountID}) // a second login of the same account
	second := tokensFrom(t, f.refresh(t, first.RefreshToken, false), first.AccountID)

	if r := f.refresh(t, first.RefreshToken, false); r.errCode() != "refresh_token_reused" {
		t.Fatalf("reuse: %d %s", r.status, r.raw)
	}
	if r := f.refresh(t, second.RefreshToken, false); r.status != 401 || r.errCode() != "refresh_token_invalidated" {
		t.Fatalf("current token after revocation: %d %s", r.status, r.raw)
	}
	if r := f.responses(t, second); r.status != 401 || r.errCode() != "token_invalidated" {
		t.Fatalf("access token after revocation: %d %s", r.status, r.raw)
	}
	// The other family (another login) is unaffected.
	if r := f.responses(t, other); r.status != 200 {
		t.Fatalf("other family: %d %s", r.status, r.raw)
	}
	tokensFrom(t, f.refresh(t, other.RefreshToken, true), other.AccountID)
	if st := f.sim.Stats(); st.LoginsRevoked != 1 || st.Accounts[first.AccountID].LoginsRevoked != 1 {
		t.Fatalf("logins revoked = %d (account %d), want 1", st.LoginsRevoked, st.Accounts[first.AccountID].LoginsRevoked)
	}
}

func TestSim_Refresh_KeepFamilyOnReuse(t *testing.T) {
	f := newFixture(t, Options{KeepFamilyOnReuse: true})
	first := f.sim.AddAccount(Account{})
	second := tokensFrom(t, f.refresh(t, first.RefreshToken, false), first.AccountID)
	if r := f.refresh(t, first.RefreshToken, false); r.errCode() != "refresh_token_reused" {
		t.Fatalf("reuse: %d %s", r.status, r.raw)
	}
	tokensFrom(t, f.refresh(t, second.RefreshToken, true), first.AccountID)
	if st := f.sim.Stats(); st.LoginsRevoked != 0 {
		t.Fatalf("logins revoked = %d, want 0", st.LoginsRevoked)
	}
}

func TestSim_Refresh_ConcurrentUseOfOneToken(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	const n = 16
	statuses := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = f.refresh(t, tok.RefreshToken, i%2 == 0)
		}()
	}
	close(start)
	wg.Wait()
	ok, reused := 0, 0
	for _, r := range statuses {
		switch {
		case r.status == 200:
			ok++
		case r.errCode() == "refresh_token_reused":
			reused++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	if ok != 1 || reused != n-1 {
		t.Fatalf("got %d successes and %d reuse rejections, want 1 and %d", ok, reused, n-1)
	}
	if st := f.sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != n-1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Token_Rejections(t *testing.T) {
	f := newFixture(t, Options{RefreshTTL: time.Hour})
	tok := f.sim.AddAccount(Account{})
	old := f.sim.AddAccount(Account{})
	f.clock.Add(time.Hour) // old and tok are now at their RefreshTTL
	fresh := f.sim.AddAccount(Account{})
	_ = tok

	base := func(rt string) map[string]string {
		return map[string]string{"client_id": ClientID, "grant_type": "refresh_token", "refresh_token": rt}
	}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		params map[string]string
		status int
		code   string
	}{
		{"wrong client_id", with(base(fresh.RefreshToken), "client_id", "app_other"), 401, "invalid_client"},
		{"missing client_id", with(base(fresh.RefreshToken), "client_id", ""), 400, "invalid_request"},
		{"missing grant_type", with(base(fresh.RefreshToken), "grant_type", ""), 400, "invalid_request"},
		{"unknown grant_type", with(base(fresh.RefreshToken), "grant_type", "password"), 400, "unsupported_grant_type"},
		{"missing refresh_token", with(base(""), "refresh_token", ""), 400, "invalid_request"},
		{"unknown refresh_token", base("rt_not-issued-by-the-simulator"), 401, "invalid_grant"},
		{"scope beyond grant", with(base(fresh.RefreshToken), "scope", "openid admin"), 400, "invalid_request"},
		{"expired refresh_token", base(old.RefreshToken), 401, "refresh_token_expired"},
	} {
		for _, form := range []bool{false, true} {
			r := f.token(t, tc.params, form)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Errorf("%s (form=%v): got %d %s, want %d %s", tc.name, form, r.status, r.raw, tc.status, tc.code)
			}
		}
	}
	// None of the rejected requests spent the fresh token.
	tokensFrom(t, f.refresh(t, fresh.RefreshToken, false), fresh.AccountID)

	for _, tc := range []struct{ name, ctype, body string }{
		{"text/plain", "text/plain", "grant_type=refresh_token"},
		{"no content type", "", `{"grant_type":"refresh_token"}`},
		{"json non-string", "application/json", `{"client_id":"` + ClientID + `","grant_type":"refresh_token","refresh_token":5}`},
		{"json not object", "application/json", `[1]`},
		{"form repeated key", "application/x-www-form-urlencoded", "grant_type=refresh_token&grant_type=refresh_token"},
	} {
		r := do(t, newReq(t, "POST", f.srv.URL+"/oauth/token", tc.ctype, []byte(tc.body)))
		if r.status != 400 || r.errCode() != "invalid_request" {
			t.Errorf("%s: got %d %s, want 400 invalid_request", tc.name, r.status, r.raw)
		}
	}
	if r := do(t, newReq(t, "GET", f.srv.URL+"/oauth/token", "", nil)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/token: %d", r.status)
	}
}

func TestSim_Tokens_ClaimLayout(t *testing.T) {
	f := newFixture(t, Options{AccessTTL: 90 * time.Minute})
	tok := f.sim.AddAccount(Account{ID: "acct_1", Name: "alice", Email: "alice@example.com", Plan: "pro", UserID: "user-alice"})
	now := f.clock.Now().Unix()

	ac := claims(t, tok.AccessToken)
	if ac["iss"] != Issuer || ac["client_id"] != ClientID || ac["exp"] != float64(now+5400) || ac["iat"] != float64(now) || ac["jti"] == "" {
		t.Fatalf("access claims: %v", ac)
	}
	if aud := ac["aud"].([]any); len(aud) != 1 || aud[0] != APIAudience {
		t.Fatalf("access aud: %v", ac["aud"])
	}
	auth := ac[AuthClaim].(map[string]any)
	if auth["chatgpt_account_id"] != "acct_1" || auth["chatgpt_plan_type"] != "pro" || auth["chatgpt_user_id"] != "user-alice" || auth["user_id"] != "user-alice" {
		t.Fatalf("access auth claim: %v", auth)
	}
	if p := ac[ProfileClaim].(map[string]any); p["email"] != "alice@example.com" || p["email_verified"] != true {
		t.Fatalf("profile claim: %v", p)
	}

	id := claims(t, tok.IDToken)
	if aud := id["aud"].([]any); id["email"] != "alice@example.com" || id["email_verified"] != true || aud[0] != ClientID {
		t.Fatalf("id claims: %v", id)
	}
	idAuth := id[AuthClaim].(map[string]any)
	for _, k := range []string{"chatgpt_subscription_active_start", "chatgpt_subscription_active_until"} {
		if _, err := time.Parse(time.RFC3339, idAuth[k].(string)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if idAuth["chatgpt_account_id"] != "acct_1" {
		t.Fatalf("id auth claim: %v", idAuth)
	}
	if tok.RefreshToken[:3] != "rt_" || len(tok.RefreshToken) != 46 {
		t.Fatalf("refresh token shape: %q", tok.RefreshToken)
	}
}
