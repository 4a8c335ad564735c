package openaisim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Protocol constants of the real services, mirrored by the simulator.
const (
	// ClientID is the OAuth client id of the Codex CLI; the token and
	// authorize endpoints accept no other.
	ClientID = "app_EMoamEEZ73f0CkXaXp7hrann"
	// Issuer is the iss claim of every token.
	Issuer = "https://auth.openai.com"
	// APIAudience is the aud claim of access tokens.
	APIAudience = "https://api.openai.com/v1"
	// TokenScope is the scope returned by the token endpoint.
	TokenScope = "openid profile email offline_access"
	// AuthClaim is the JWT claim holding the ChatGPT account data.
	AuthClaim = "https://api.openai.com/auth"
	// ProfileClaim is the access-token claim holding the email.
	ProfileClaim = "https://api.openai.com/profile"
)

// jwtHeader is the fixed header of every simulated JWT.
var jwtHeader = b64(`{"alg":"RS256","typ":"JWT","kid":"sim"}`)

// Account is a simulated ChatGPT account. Empty fields get defaults in
// AddAccount: ID a random UUID, Name the ID, Email "<name>@example.com",
// Plan "plus", UserID "user-<random>".
type Account struct {
	ID     string `json:"id"` // chatgpt_account_id, sent back as ChatGPT-Account-Id
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Plan   string `json:"plan,omitempty"`
	UserID string `json:"user_id,omitempty"`
}

func (a Account) withDefaults() Account {
	if a.ID == "" {
		a.ID = uuid()
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	if a.Email == "" {
		a.Email = a.Name + "@example.com"
	}
	if a.Plan == "" {
		a.Plan = "plus"
	}
	if a.UserID == "" {
		a.UserID = "user-" + randString(24)
	}
	return a
}

// Tokens is one issued token set; the JSON tags match the "tokens" object of
// a Codex auth.json document.
type Tokens struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	AccountID    string `json:"account_id"`
	// ExpiresAt is the access token's exp; not part of auth.json.
	ExpiresAt time.Time `json:"-"`
}

// TokenKey is the key of a token in Stats.RequestsByAccessToken: the first 16
// hex digits of its SHA-256, so stats never carry bearer tokens.
func TokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// authJSON is the Codex auth.json layout.
type authJSON struct {
	APIKey      *string `json:"OPENAI_API_KEY"`
	Tokens      Tokens  `json:"tokens"`
	LastRefresh string  `json:"last_refresh"`
}

// AuthJSON renders tokens as a Codex auth.json document
// ({"OPENAI_API_KEY":null,"tokens":{…},"last_refresh":RFC3339}) stamped with
// the simulator clock.
func (s *Sim) AuthJSON(t Tokens) []byte {
	doc, err := json.MarshalIndent(authJSON{Tokens: t, LastRefresh: s.now().UTC().Format(time.RFC3339)}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("openaisim: marshal auth.json: %v", err)) // plain strings cannot fail
	}
	return doc
}

// mintJWT returns header.payload.signature with a random 256-byte "RS256"
// signature; nobody can verify it, and nobody is meant to.
func mintJWT(claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("openaisim: marshal claims: %v", err))
	}
	sig := make([]byte, 256)
	mustRand(sig)
	return jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func accessClaims(a Account, iat, exp time.Time) map[string]any {
	return map[string]any{
		"iss":       Issuer,
		"aud":       []string{APIAudience},
		"client_id": ClientID,
		"sub":       a.UserID,
		"iat":       iat.Unix(),
		"nbf":       iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       uuid(),
		"scp":       []string{"openid", "profile", "email", "offline_access"},
		AuthClaim: map[string]any{
			"chatgpt_account_id": a.ID,
			"chatgpt_plan_type":  a.Plan,
			"chatgpt_user_id":    a.UserID,
			"user_id":            a.UserID,
		},
		ProfileClaim: map[string]any{"email": a.Email, "email_verified": true},
	}
}

func idClaims(a Account, iat time.Time) map[string]any {
	return map[string]any{
		"iss":            Issuer,
		"aud":            []string{ClientID},
		"sub":            a.UserID,
		"iat":            iat.Unix(),
		"auth_time":      iat.Unix(),
		"exp":            iat.Add(time.Hour).Unix(),
		"jti":            uuid(),
		"email":          a.Email,
		"email_verified": true,
		AuthClaim: map[string]any{
			"chatgpt_account_id":                a.ID,
			"chatgpt_plan_type":                 a.Plan,
			"chatgpt_user_id":                   a.UserID,
			"user_id":                           a.UserID,
			"chatgpt_subscription_active_start": iat.AddDate(0, 0, -15).UTC().Format(time.RFC3339),
			"chatgpt_subscription_active_until": iat.AddDate(0, 0, 15).UTC().Format(time.RFC3339),
		},
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// randString returns n random base64url characters.
func randString(n int) string {
	buf := make([]byte, (n*6+7)/8)
	mustRand(buf)
	return base64.RawURLEncoding.EncodeToString(buf)[:n]
}

func randHex(nBytes int) string {
	buf := make([]byte, nBytes)
	mustRand(buf)
	return hex.EncodeToString(buf)
}

func uuid() string {
	h := randHex(16)
	return strings.Join([]string{h[0:8], h[8:12], "4" + h[13:16], "8" + h[17:20], h[20:32]}, "-")
}

func mustRand(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("openaisim: crypto/rand: %v", err)) // crypto/rand never fails on supported platforms
	}
}
