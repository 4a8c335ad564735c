package codex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Claims are the parts of an OpenAI id_token or access_token that codexgate uses.
// Signatures are not checked: the tokens come from our own secret store and are
// only ever verified by OpenAI.
type Claims struct {
	AccountID         string // ChatGPT account id: the ChatGPT-Account-Id header and the lease key
	PlanType          string
	UserID            string
	Email             string
	ExpiresAt         time.Time // zero when the token has no exp
	IssuedAt          time.Time
	SubscriptionStart time.Time
	SubscriptionUntil time.Time
}

// jwtPayload mirrors the claim layout OpenAI uses in both token kinds.
type jwtPayload struct {
	Exp     json.RawMessage `json:"exp"`
	Iat     json.RawMessage `json:"iat"`
	Email   string          `json:"email"`
	Auth    *authClaim      `json:"https://api.openai.com/auth"`
	Profile *struct {
		Email string `json:"email"`
	} `json:"https://api.openai.com/profile"`
}

type authClaim struct {
	AccountID         string          `json:"chatgpt_account_id"`
	PlanType          string          `json:"chatgpt_plan_type"`
	ChatGPTUserID     string          `json:"chatgpt_user_id"`
	UserID            string          `json:"user_id"`
	SubscriptionStart json.RawMessage `json:"chatgpt_subscription_active_start"`
	SubscriptionUntil json.RawMessage `json:"chatgpt_subscription_active_until"`
}

// ErrMalformedJWT reports a token that is not a decodable JWT.
var ErrMalformedJWT = errors.New("malformed JWT")

// ParseClaims decodes a JWT's payload. It never panics on garbage.
func ParseClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformedJWT, len(parts))
	}
	if parts[1] == "" {
		return Claims{}, fmt.Errorf("%w: empty payload", ErrMalformedJWT)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: payload is not base64url: %v", ErrMalformedJWT, err)
	}
	// Unmarshal accepts null into a struct; a payload must be an object.
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return Claims{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformedJWT)
	}
	var p jwtPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return Claims{}, fmt.Errorf("%w: payload is not a JSON object: %v", ErrMalformedJWT, err)
	}
	c := Claims{Email: p.Email}
	if c.ExpiresAt, err = numericDate(p.Exp); err != nil {
		return Claims{}, fmt.Errorf("%w: exp: %v", ErrMalformedJWT, err)
	}
	if c.IssuedAt, err = numericDate(p.Iat); err != nil {
		return Claims{}, fmt.Errorf("%w: iat: %v", ErrMalformedJWT, err)
	}
	if c.Email == "" && p.Profile != nil {
		c.Email = p.Profile.Email
	}
	if a := p.Auth; a != nil {
		c.AccountID, c.PlanType = a.AccountID, a.PlanType
		c.UserID = a.ChatGPTUserID
		if c.UserID == "" {
			c.UserID = a.UserID
		}
		c.SubscriptionStart = timeClaim(a.SubscriptionStart)
		c.SubscriptionUntil = timeClaim(a.SubscriptionUntil)
	}
	return c, nil
}

// numericDate reads a JWT NumericDate (RFC 7519 §2): a JSON number of
// seconds, possibly fractional. Absent or null is zero; a string is an error
// (json.Number alone would silently accept "1700000000").
func numericDate(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		return time.Time{}, fmt.Errorf("is a string (%.40s), want a number", raw)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, fmt.Errorf("not a number: %.40s", raw)
	}
	return unixClaim(n)
}

func unixClaim(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(f), 0).UTC(), nil
}

// timeClaim accepts RFC 3339 strings or unix seconds; anything else is zero,
// since subscription dates are informational only.
func timeClaim(raw json.RawMessage) time.Time {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC()
		}
		return time.Time{}
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if t, err := unixClaim(n); err == nil {
			return t
		}
	}
	return time.Time{}
}
