package openaisim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

const (
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B
	testRedirect = "http://localhost:1455/auth/callback"
)

// authorizeQuery is a valid authorize request as the Codex CLI builds it.
func authorizeQuery() url.Values {
	return url.Values{
		"response_type":              {"code"},
		"client_id":                  {ClientID},
		"redirect_uri":               {testRedirect},
		"scope":                      {"openid profile email offline_access"},
		"code_challenge":             {s256(testVerifier)},
		"code_challenge_method":      {"S256"},
		"state":                      {"st4te"},
		"id_token_add_organizations": {"true"},
		"codex_cli_simplified_flow":  {"true"},
	}
}

// authorize runs /oauth/authorize without following the redirect.
func (f *fixture) authorize(t *testing.T, q url.Values) (*http.Response, url.Values) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return resp, loc.Query()
}

func (f *fixture) exchange(t *testing.T, code, verifier, redirect string) result {
	t.Helper()
	return f.token(t, map[string]string{
		"grant_type": "authorization_code", "client_id": ClientID, "code": code,
		"code_verifier": verifier, "redirect_uri": redirect,
	}, true)
}

func TestSim_PKCE_LoginSuccess(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.AddAccount(Account{Name: "first"})
	login := f.sim.SetLoginAccount(Account{ID: "acct_login", Email: "login@example.com"})
	resp, cb := f.authorize(t, authorizeQuery())
	if resp.StatusCode != http.StatusFound || cb.Get("state") != "st4te" || cb.Get("code") == "" {
		t.Fatalf("authorize: %d %v", resp.StatusCode, cb)
	}
	tok := tokensFrom(t, f.exchange(t, cb.Get("code"), testVerifier, testRedirect), login.ID)
	if c := claims(t, tok.AccessToken)[AuthClaim].(map[string]any); c["chatgpt_account_id"] != "acct_login" {
		t.Fatalf("logged in as %v", c)
	}
	if r := f.responses(t, tok); r.status != 200 {
		t.Fatalf("new login's access token: %d %s", r.status, r.raw)
	}
	tokensFrom(t, f.refresh(t, tok.RefreshToken, false), login.ID)
	if st := f.sim.Stats(); st.Authorizations != 1 || st.CodeExchanges != 1 || st.Accounts["acct_login"].Families != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_PKCE_ExchangeFailures(t *testing.T) {
	otherVerifier := testVerifier[:42] + "Z"
	for _, tc := range []struct {
		name     string
		verifier string
		redirect string
		before   func(f *fixture, code string)
		status   int
		code     string
	}{
		{"wrong verifier", otherVerifier, testRedirect, nil, 400, "invalid_grant"},
		{"short verifier", "abc", testRedirect, nil, 400, "invalid_request"},
		{"redirect mismatch", testVerifier, "http://localhost:1456/auth/callback", nil, 400, "invalid_grant"},
		{"expired code", testVerifier, testRedirect, func(f *fixture, _ string) { f.clock.Add(11 * time.Minute) }, 400, "invalid_grant"},
		{"unknown code", testVerifier, testRedirect, nil, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.sim.AddAccount(Account{})
			_, cb := f.authorize(t, authorizeQuery())
			code := cb.Get("code")
			if tc.name == "unknown code" {
				code = "ac_not-issued"
			}
			if tc.before != nil {
				tc.before(f, code)
			}
			r := f.exchange(t, code, tc.verifier, tc.redirect)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
		})
	}
	t.Run("reused code", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.sim.AddAccount(Account{})
		_, cb := f.authorize(t, authorizeQuery())
		tok := tokensFrom(t, f.exchange(t, cb.Get("code"), testVerifier, testRedirect), "")
		r := f.exchange(t, cb.Get("code"), testVerifier, testRedirect)
		if r.status != 400 || r.errCode() != "invalid_grant" {
			t.Fatalf("second exchange: %d %s", r.status, r.raw)
		}
		// The reuse revoked what the code produced.
		if r := f.refresh(t, tok.RefreshToken, false); r.errCode() != "refresh_token_invalidated" {
			t.Fatalf("refresh after code reuse: %d %s", r.status, r.raw)
		}
	})
}

func TestSim_PKCE_AuthorizeValidation(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.AddAccount(Account{})
	for _, tc := range []struct {
		name, key, value string // value "" deletes the key
	}{
		{"response_type token", "response_type", "token"},
		{"wrong client", "client_id", "app_other"},
		{"missing redirect", "redirect_uri", ""},
		{"remote redirect", "redirect_uri", "https://evil.example/auth/callback"},
		{"wrong callback path", "redirect_uri", "http://localhost:1455/cb"},
		{"plain method", "code_challenge_method", "plain"},
		{"missing challenge", "code_challenge", ""},
		{"short challenge", "code_challenge", "abc"},
		{"missing state", "state", ""},
		{"no offline_access", "scope", "openid profile email"},
		{"extra scope", "scope", "openid offline_access admin"},
	} {
		q := authorizeQuery()
		if tc.value == "" {
			q.Del(tc.key)
		} else {
			q.Set(tc.key, tc.value)
		}
		if resp, _ := f.authorize(t, q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", tc.name, resp.StatusCode)
		}
	}
	q := authorizeQuery()
	q.Set("redirect_uri", "http://127.0.0.1:40123/auth/callback")
	if resp, _ := f.authorize(t, q); resp.StatusCode != http.StatusFound {
		t.Errorf("loopback redirect on another port: %d", resp.StatusCode)
	}
	strict := newFixture(t, Options{RedirectURIs: []string{testRedirect}})
	strict.sim.AddAccount(Account{})
	if resp, _ := strict.authorize(t, q); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered redirect with RedirectURIs: %d", resp.StatusCode)
	}
	empty := newFixture(t, Options{})
	if resp, _ := empty.authorize(t, authorizeQuery()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no account: %d", resp.StatusCode)
	}
}
