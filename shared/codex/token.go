package codex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Token is one account's OAuth credential set.
type Token struct {
	ID        string // id_token (JWT)
	Access    string // access_token (JWT)
	Refresh   string // refresh_token: single use, rotated by every refresh
	AccountID string // ChatGPT account id
	ExpiresAt time.Time
}

// ValidAt reports whether the access token is still good at now+skew.
// A token without a known expiry is treated as expired so that it gets refreshed.
func (t Token) ValidAt(now time.Time, skew time.Duration) bool {
	return t.Access != "" && !t.ExpiresAt.IsZero() && now.Add(skew).Before(t.ExpiresAt)
}

// AuthFile is a Codex auth.json document: the value of an account secret.
// Unknown fields, top-level and inside "tokens", survive a round trip, so a
// file written by a newer Codex CLI is never stripped by codexgate.
type AuthFile struct {
	Token       Token
	LastRefresh time.Time

	extra       map[string]json.RawMessage // top-level fields other than tokens/last_refresh
	extraTokens map[string]json.RawMessage // fields inside tokens other than the four we own
}

// ErrInvalidAuthFile reports an auth.json document codexgate cannot use.
var ErrInvalidAuthFile = errors.New("invalid auth.json")

var tokenFields = []string{"id_token", "access_token", "refresh_token", "account_id"}

// ParseAuthFile validates and decodes an auth.json document. account names the
// secret or file in error messages.
func ParseAuthFile(account string, data []byte) (*AuthFile, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w for account %q: not a JSON object", ErrInvalidAuthFile, account)
	}
	rawTokens, ok := top["tokens"]
	if !ok || string(rawTokens) == "null" {
		return nil, fmt.Errorf("%w for account %q: no \"tokens\" object (was it written by `codex login` with ChatGPT?)", ErrInvalidAuthFile, account)
	}
	var toks map[string]json.RawMessage
	if err := json.Unmarshal(rawTokens, &toks); err != nil || toks == nil {
		return nil, fmt.Errorf("%w for account %q: \"tokens\" is not an object", ErrInvalidAuthFile, account)
	}
	vals := make(map[string]string, len(tokenFields))
	for _, f := range tokenFields {
		raw, ok := toks[f]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w for account %q: tokens.%s is not a string", ErrInvalidAuthFile, account, f)
		}
		vals[f] = s
		delete(toks, f)
	}
	if vals["refresh_token"] == "" {
		return nil, fmt.Errorf("%w for account %q: tokens.refresh_token is missing", ErrInvalidAuthFile, account)
	}
	a := &AuthFile{
		Token: Token{
			ID:        vals["id_token"],
			Access:    vals["access_token"],
			Refresh:   vals["refresh_token"],
			AccountID: vals["account_id"],
		},
		extraTokens: toks,
	}
	if raw, ok := top["last_refresh"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			a.LastRefresh, _ = time.Parse(time.RFC3339Nano, s) // informational only
		}
	}
	delete(top, "tokens")
	delete(top, "last_refresh")
	a.extra = top
	a.fillFromClaims()
	return a, nil
}

// fillFromClaims derives expiry and account id from the JWTs. Malformed JWTs
// leave the fields empty: the token then counts as expired and is refreshed.
func (a *AuthFile) fillFromClaims() {
	if c, err := ParseClaims(a.Token.Access); err == nil {
		if !c.ExpiresAt.IsZero() {
			a.Token.ExpiresAt = c.ExpiresAt
		}
		if a.Token.AccountID == "" {
			a.Token.AccountID = c.AccountID
		}
	}
	if a.Token.AccountID == "" {
		if c, err := ParseClaims(a.Token.ID); err == nil {
			a.Token.AccountID = c.AccountID
		}
	}
}

// Claims decodes the richest claims available: the id_token's, completed by
// the access token's (plan and expiry may only be in one of them).
func (a *AuthFile) Claims() Claims {
	id, _ := ParseClaims(a.Token.ID)
	acc, _ := ParseClaims(a.Token.Access)
	if id.AccountID == "" {
		id.AccountID = acc.AccountID
	}
	if id.PlanType == "" {
		id.PlanType = acc.PlanType
	}
	if id.Email == "" {
		id.Email = acc.Email
	}
	if id.UserID == "" {
		id.UserID = acc.UserID
	}
	id.ExpiresAt = acc.ExpiresAt
	if id.AccountID == "" {
		id.AccountID = a.Token.AccountID
	}
	return id
}

// WithToken returns a copy of a holding t, keeping unknown fields.
func (a *AuthFile) WithToken(t Token, refreshedAt time.Time) *AuthFile {
	b := *a
	b.Token = t
	b.LastRefresh = refreshedAt.UTC()
	b.fillFromClaims()
	return &b
}

// MarshalJSON writes the auth.json document, unknown fields included.
func (a *AuthFile) MarshalJSON() ([]byte, error) {
	toks := make(map[string]any, len(a.extraTokens)+len(tokenFields))
	for k, v := range a.extraTokens {
		toks[k] = v
	}
	toks["id_token"] = a.Token.ID
	toks["access_token"] = a.Token.Access
	toks["refresh_token"] = a.Token.Refresh
	if a.Token.AccountID != "" {
		toks["account_id"] = a.Token.AccountID
	}
	top := make(map[string]any, len(a.extra)+2)
	for k, v := range a.extra {
		top[k] = v
	}
	top["tokens"] = toks
	if !a.LastRefresh.IsZero() {
		top["last_refresh"] = a.LastRefresh.UTC().Format(time.RFC3339Nano)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(top); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// LeaseKey names the lease an account's refreshes serialise on. Two secrets
// holding one ChatGPT account must share a lease, so the ChatGPT account id is
// the key. Without one, the secret's name is the key: a hash of the refresh
// token would change with every rotation and split one login across leases.
func LeaseKey(account string, a *AuthFile) string {
	if a.Token.AccountID != "" {
		return "chatgpt:" + a.Token.AccountID
	}
	return "secret:" + account
}

// Merge applies a token response to t, keeping any value the response
// leaves out, and derives the new expiry from expires_in or the JWT exp.
func (t Token) Merge(r *TokenResponse, now time.Time) Token {
	n := t
	if r.AccessToken != "" {
		n.Access = r.AccessToken
	}
	if r.RefreshToken != "" {
		n.Refresh = r.RefreshToken
	}
	if r.IDToken != "" {
		n.ID = r.IDToken
	}
	n.ExpiresAt = time.Time{}
	if c, err := ParseClaims(n.Access); err == nil {
		n.ExpiresAt = c.ExpiresAt
		if c.AccountID != "" {
			n.AccountID = c.AccountID
		}
	}
	if n.ExpiresAt.IsZero() && r.ExpiresIn > 0 {
		n.ExpiresAt = now.Add(time.Duration(r.ExpiresIn) * time.Second)
	}
	return n
}
