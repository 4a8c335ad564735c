package openaisim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const maxBody = 1 << 20

// tokenResponse is the 200 body of /oauth/token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
}

// handleToken serves POST /oauth/token for the refresh_token and
// authorization_code grants, with a JSON or form body.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request, _ int) {
	params, bad := tokenParams(r)
	if bad != "" {
		s.countToken("")
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "", bad)
		return
	}
	grant := params["grant_type"]
	switch {
	case grant == "":
		s.countToken("")
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "grant_type", "Missing required parameter: 'grant_type'.")
		return
	case params["client_id"] == "":
		s.countToken(grant)
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "client_id", "Missing required parameter: 'client_id'.")
		return
	case params["client_id"] != ClientID:
		s.countToken(grant)
		writeError(w, http.StatusUnauthorized, codeInvalidClient, "client_id", "Unknown client_id.")
		return
	}
	switch grant {
	case "refresh_token":
		s.refreshGrant(w, params)
	case "authorization_code":
		s.codeGrant(w, params)
	default:
		s.countToken(grant)
		writeError(w, http.StatusBadRequest, codeUnsupportedGrant, "grant_type", fmt.Sprintf("Unsupported grant_type %q.", grant))
	}
}

// tokenParams reads a JSON object of strings or a form body. Any other
// content type, a non-string JSON value or a body over 1 MiB is rejected
// with a client-facing message.
func tokenParams(r *http.Request) (map[string]string, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Sprintf("Unsupported Content-Type %q.", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, "Could not read the request body."
	}
	out := map[string]string{}
	switch mt {
	case "application/json":
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, "Request body is not a JSON object."
		}
		for k, v := range raw {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Sprintf("Parameter %q must be a string.", k)
			}
			out[k] = str
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "Malformed form body."
		}
		for k, v := range form {
			if len(v) != 1 {
				return nil, fmt.Sprintf("Parameter %q given %d times.", k, len(v))
			}
			out[k] = v[0]
		}
	default:
		return nil, fmt.Sprintf("Unsupported Content-Type %q.", mt)
	}
	return out, ""
}

// refreshGrant rotates a refresh token: single use, under the lock, so
// concurrent uses of one token give exactly one success.
func (s *Sim) refreshGrant(w http.ResponseWriter, p map[string]string) {
	rt := p["refresh_token"]
	if rt == "" {
		s.countToken("refresh_token")
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "refresh_token", "Missing required parameter: 'refresh_token'.")
		return
	}
	if sc := p["scope"]; sc != "" && !scopeSubset(sc) {
		s.countToken("refresh_token")
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "scope", "Requested scope exceeds the granted scope.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.RefreshRequests++
	rec := s.refresh[rt]
	fail := func(code, msg string) {
		s.stats.RefreshFailures++
		writeError(w, http.StatusUnauthorized, code, "", msg)
	}
	switch {
	case rec == nil:
		fail(codeInvalidGrant, msgRefreshUnknown)
	case rec.spent:
		s.stats.ReuseRejections++
		s.acct(rec.fam.accountID).ReuseRejections++
		if !s.opts.KeepFamilyOnReuse && !rec.fam.revoked {
			rec.fam.revoked = true
			s.stats.LoginsRevoked++
			s.acct(rec.fam.accountID).LoginsRevoked++
		}
		fail(codeRefreshReused, msgRefreshReused)
	case rec.fam.revoked:
		fail(codeRefreshInvalidated, msgRefreshInvalidated)
	case s.opts.RefreshTTL > 0 && !s.nowLocked().Before(rec.issued.Add(s.opts.RefreshTTL)):
		fail(codeRefreshExpired, msgRefreshExpired)
	default:
		rec.spent = true
		t := s.issueLocked(rec.fam)
		s.stats.Refreshes++
		s.acct(rec.fam.accountID).Refreshes++
		s.writeTokens(w, t)
	}
}

// codeGrant exchanges a PKCE authorization code for a new token family.
func (s *Sim) codeGrant(w http.ResponseWriter, p map[string]string) {
	for _, k := range []string{"code", "redirect_uri", "code_verifier"} {
		if p[k] == "" {
			s.countToken("authorization_code")
			writeError(w, http.StatusBadRequest, codeInvalidRequest, k, fmt.Sprintf("Missing required parameter: '%s'.", k))
			return
		}
	}
	if !validVerifier(p["code_verifier"]) {
		s.countToken("authorization_code")
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "code_verifier", "code_verifier must be 43-128 unreserved characters.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.CodeExchanges++
	c := s.codes[p["code"]]
	fail := func(msg string) {
		s.stats.CodeExchangeFailures++
		writeError(w, http.StatusBadRequest, codeInvalidGrant, "", msg)
	}
	switch {
	case c == nil:
		fail("Invalid authorization code.")
	case c.used:
		// RFC 6749 §4.1.2: a reused code revokes what it produced.
		if c.fam != nil {
			c.fam.revoked = true
		}
		fail("Authorization code has already been used.")
	case !s.nowLocked().Before(c.expires):
		fail("Authorization code has expired.")
	case c.redirectURI != p["redirect_uri"]:
		fail("redirect_uri does not match the authorization request.")
	case s256(p["code_verifier"]) != c.challenge:
		fail("code_verifier does not match the code_challenge.")
	default:
		c.used = true
		t := s.newFamilyLocked(c.accountID)
		c.fam = s.refresh[t.RefreshToken].fam
		s.writeTokens(w, t)
	}
}

func (s *Sim) writeTokens(w http.ResponseWriter, t Tokens) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		IDToken:      t.IDToken,
		TokenType:    "Bearer",
		ExpiresIn:    int64(s.opts.AccessTTL.Seconds()),
		Scope:        TokenScope,
	})
}

// countToken counts a token request rejected before the grant handlers ran.
func (s *Sim) countToken(grant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch grant {
	case "refresh_token":
		s.stats.RefreshRequests++
		s.stats.RefreshFailures++
	case "authorization_code":
		s.stats.CodeExchanges++
		s.stats.CodeExchangeFailures++
	default:
		s.stats.TokenBadRequests++
	}
}

// handleAuthorize serves GET /oauth/authorize: it validates a PKCE request
// and "logs in" as the login account at once, redirecting with a code.
func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request, _ int) {
	q := r.URL.Query()
	bad := func(msg string) {
		s.mu.Lock()
		s.stats.AuthorizeFailures++
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, codeInvalidRequest, "", msg)
	}
	for k, v := range q {
		if len(v) != 1 {
			bad(fmt.Sprintf("Parameter %q given %d times.", k, len(v)))
			return
		}
	}
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("response_type") != "code":
		bad("response_type must be 'code'.")
	case q.Get("client_id") != ClientID:
		bad("Unknown client_id.")
	case !s.redirectAllowed(redirect):
		bad("redirect_uri is not registered for this client.")
	case q.Get("code_challenge_method") != "S256":
		bad("code_challenge_method must be 'S256'.")
	case !validChallenge(q.Get("code_challenge")):
		bad("code_challenge must be a base64url SHA-256 (43 characters).")
	case q.Get("state") == "":
		bad("state is required.")
	case !scopeHas(q.Get("scope"), "openid", "offline_access") || !scopeSubset(q.Get("scope")):
		bad("scope must include 'openid' and 'offline_access' and nothing beyond '" + TokenScope + "'.")
	default:
		s.mu.Lock()
		acct := s.loginAccountLocked()
		if acct == nil {
			s.stats.AuthorizeFailures++
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, codeInvalidRequest, "", "No account to log in as.")
			return
		}
		code := "ac_" + randString(43)
		s.codes[code] = &authCode{
			challenge:   q.Get("code_challenge"),
			redirectURI: redirect,
			accountID:   acct.ID,
			expires:     s.nowLocked().Add(s.opts.CodeTTL),
		}
		s.stats.Authorizations++
		s.mu.Unlock()
		u, _ := url.Parse(redirect) // validated by redirectAllowed
		rq := u.Query()
		rq.Set("code", code)
		rq.Set("state", q.Get("state"))
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
}

func (s *Sim) redirectAllowed(raw string) bool {
	if len(s.opts.RedirectURIs) > 0 {
		return slices.Contains(s.opts.RedirectURIs, raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Path != "/auth/callback" || u.Fragment != "" || u.User != nil {
		return false
	}
	return (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1") && u.Port() != ""
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// validVerifier applies RFC 7636 §4.1: 43-128 characters of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func scopeHas(scope string, want ...string) bool {
	have := strings.Fields(scope)
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func scopeSubset(scope string) bool {
	allowed := strings.Fields(TokenScope)
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(allowed, sc) {
			return false
		}
	}
	return true
}
