package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// DefaultPort is the loopback port registered for the Codex CLI's client id:
// OpenAI only redirects to http://localhost:1455/auth/callback.
const DefaultPort = 1455

// CallbackPath is the path of the redirect URI.
const CallbackPath = "/auth/callback"

// Scope is what a Codex login asks for; offline_access yields the refresh token.
const Scope = "openid profile email offline_access"

// Errors a caller may branch on.
var (
	// ErrStateMismatch means a callback carried a state this flow did not
	// issue: a stale browser tab or a forged request. It is never exchanged.
	ErrStateMismatch = errors.New("login: callback state does not match this login attempt")
	// ErrDenied means the authorization server answered with an error
	// (the user declined, or the request was rejected).
	ErrDenied = errors.New("login: authorization denied")
	// ErrNoCode means a callback URL carried neither a code nor an error.
	ErrNoCode = errors.New("login: callback URL has no authorization code")
)

// Flow is one login attempt. Its fields are secrets of this attempt: the
// verifier proves to the token endpoint that the code was requested by us.
type Flow struct {
	AuthorizeURL string // the full URL the user opens
	RedirectURI  string // http://localhost:<port>/auth/callback
	State        string
	Verifier     string
	Challenge    string // base64url(SHA-256(Verifier))
}

// New starts a login attempt against authorizeEndpoint (config.AuthorizeURL)
// with the callback on port.
func New(authorizeEndpoint string, port int) (*Flow, error) {
	base, err := url.Parse(authorizeEndpoint)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("login: authorize URL %q: want an http(s) URL", authorizeEndpoint)
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("login: callback port %d out of range", port)
	}
	verifier, err := randomString(64) // 86 characters, within RFC 7636's 43-128
	if err != nil {
		return nil, err
	}
	state, err := randomString(32)
	if err != nil {
		return nil, err
	}
	f := &Flow{
		RedirectURI: fmt.Sprintf("http://localhost:%d%s", port, CallbackPath),
		State:       state,
		Verifier:    verifier,
		Challenge:   Challenge(verifier),
	}
	q := base.Query()
	for k, v := range f.params() {
		q.Set(k, v)
	}
	base.RawQuery = q.Encode()
	f.AuthorizeURL = base.String()
	return f, nil
}

// params are the authorize request's parameters (docs/DESIGN.md §6.6).
func (f *Flow) params() map[string]string {
	return map[string]string{
		"response_type":              "code",
		"client_id":                  codex.ClientID,
		"redirect_uri":               f.RedirectURI,
		"scope":                      Scope,
		"code_challenge":             f.Challenge,
		"code_challenge_method":      "S256",
		"state":                      f.State,
		"id_token_add_organizations": "true",
		"codex_cli_simplified_flow":  "true",
	}
}

// Challenge is the S256 code challenge of verifier (RFC 7636 §4.2).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CodeFrom extracts the authorization code from a callback's query, checking
// the state first. raw may be the whole callback URL, or just its query
// ("code=…&state=…"), as a user may paste either.
func (f *Flow) CodeFrom(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	query := raw
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		query = raw[i+1:]
	}
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("login: cannot read the callback URL: %w", err)
	}
	return f.codeFromQuery(q)
}

func (f *Flow) codeFromQuery(q url.Values) (string, error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return "", ErrStateMismatch
	}
	if e := q.Get("error"); e != "" {
		if d := q.Get("error_description"); d != "" {
			e += ": " + d
		}
		return "", fmt.Errorf("%w: %s", ErrDenied, e)
	}
	code := q.Get("code")
	if code == "" {
		return "", ErrNoCode
	}
	return code, nil
}

// Exchange trades code for a new login through the one OAuth client and
// returns it as a Codex auth.json document, ready to store.
func (f *Flow) Exchange(ctx context.Context, oauth *codex.OAuthClient, code string, now time.Time) (*codex.AuthFile, error) {
	resp, err := oauth.ExchangeCode(ctx, code, f.RedirectURI, f.Verifier)
	if err != nil {
		return nil, fmt.Errorf("exchange authorization code: %w", err)
	}
	return AuthFile(resp, now)
}

// AuthFile builds the auth.json document of a fresh login. A login without a
// refresh token is useless to codexgate (it could never be renewed) and is
// rejected like an imported file without one.
func AuthFile(resp *codex.TokenResponse, now time.Time) (*codex.AuthFile, error) {
	if resp.RefreshToken == "" || resp.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token endpoint returned no refresh or access token", codex.ErrInvalidAuthFile)
	}
	return (&codex.AuthFile{}).WithToken(codex.Token{}.Merge(resp, now), now), nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("login: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
