package codex

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// jwtHeaderSeg is the header segment of the RS256 JWTs OpenAI issues.
var jwtHeaderSeg = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))

// jwtSigSeg stands in for a signature: ParseClaims does not check it.
var jwtSigSeg = base64.RawURLEncoding.EncodeToString([]byte("not-a-real-signature"))

// jwtWithPayload builds an unsigned-but-real-shaped JWT around a raw JSON payload.
func jwtWithPayload(payload string) string {
	return jwtHeaderSeg + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + jwtSigSeg
}

// jwtWithClaims marshals claims into a real-shaped JWT.
func jwtWithClaims(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal claims: %v", err)
	}
	return jwtWithPayload(string(b))
}

// openAIIDClaims is an id_token payload shaped like the ones auth.openai.com issues.
func openAIIDClaims(accountID string, exp time.Time) map[string]any {
	return map[string]any{
		"iss":            "https://auth.openai.com",
		"aud":            []string{"app_EMoamEEZ73f0CkXaXp7hrann"},
		"sub":            "google-oauth2|104857236590000000000",
		"exp":            exp.Unix(),
		"iat":            exp.Add(-time.Hour).Unix(),
		"auth_time":      exp.Add(-time.Hour).Unix(),
		"email":          "ada@example.com",
		"email_verified": true,
		"https://api.openai.com/auth": map[string]any{
			"chatgpt_account_id":                accountID,
			"chatgpt_plan_type":                 "plus",
			"chatgpt_user_id":                   "user-Abc123",
			"user_id":                           "user-Abc123",
			"chatgpt_subscription_active_start": "2025-01-15T10:00:00+00:00",
			"chatgpt_subscription_active_until": "2025-12-15T10:00:00+00:00",
			"chatgpt_subscription_last_checked": "2025-06-01T10:00:00.123456+00:00",
			"groups":                            []string{},
			"organizations": []map[string]any{
				{"id": "org-xyz", "is_default": true, "role": "owner", "title": "Personal"},
			},
		},
	}
}

// openAIAccessClaims is an access_token payload: email only under the profile claim.
func openAIAccessClaims(accountID string, exp time.Time) map[string]any {
	return map[string]any{
		"aud":       []string{"https://api.openai.com/v1"},
		"client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
		"exp":       exp.Unix(),
		"iat":       exp.Add(-240 * time.Hour).Unix(),
		"iss":       "https://auth.openai.com",
		"jti":       "6f1c2c1e-0000-4000-8000-000000000000",
		"scp":       []string{"openid", "profile", "email", "offline_access"},
		"sub":       "google-oauth2|104857236590000000000",
		"https://api.openai.com/auth": map[string]any{
			"chatgpt_account_id": accountID,
			"chatgpt_plan_type":  "plus",
			"chatgpt_user_id":    "user-Abc123",
			"user_id":            "user-Abc123",
		},
		"https://api.openai.com/profile": map[string]any{
			"email":          "ada@example.com",
			"email_verified": true,
		},
	}
}

func TestParseClaims_Valid(t *testing.T) {
	exp := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	accountID := "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"

	padded := func(payload string) string {
		return jwtHeaderSeg + "." + base64.URLEncoding.EncodeToString([]byte(payload)) + "." + jwtSigSeg
	}
	// OpenAI's ID and access tokens describe the same user; their dates differ.
	ada := func(issued time.Time) Claims {
		return Claims{AccountID: accountID, PlanType: "plus", UserID: "user-Abc123", Email: "ada@example.com", ExpiresAt: exp, IssuedAt: issued}
	}
	idToken := ada(exp.Add(-time.Hour))
	idToken.SubscriptionStart = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	idToken.SubscriptionUntil = time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC)

	tests := []struct {
		name  string
		token string
		want  Claims
	}{
		{
			name:  "IDToken",
			token: jwtWithClaims(t, openAIIDClaims(accountID, exp)),
			want:  idToken,
		},
		{
			name:  "AccessTokenProfileEmailOnly",
			token: jwtWithClaims(t, openAIAccessClaims(accountID, exp)),
			want:  ada(exp.Add(-240 * time.Hour)),
		},
		{
			name:  "TopLevelEmailWinsOverProfile",
			token: jwtWithPayload(`{"email":"top@example.com","https://api.openai.com/profile":{"email":"profile@example.com"}}`),
			want:  Claims{Email: "top@example.com"},
		},
		{
			name:  "UserIDFallback",
			token: jwtWithPayload(`{"https://api.openai.com/auth":{"user_id":"user-only"}}`),
			want:  Claims{UserID: "user-only"},
		},
		{
			name:  "PaddedBase64",
			token: padded(`{"exp":1751371200,"email":"a@b.c"}`), // 34 bytes: needs padding
			want:  Claims{Email: "a@b.c", ExpiresAt: exp},
		},
		{
			name:  "FloatExp",
			token: jwtWithPayload(`{"exp":1751371200.75,"iat":1.7513712e9}`),
			want:  Claims{ExpiresAt: exp, IssuedAt: exp},
		},
		{
			name:  "NullExp",
			token: jwtWithPayload(`{"exp":null}`),
			want:  Claims{},
		},
		{
			name:  "NoClaims",
			token: jwtWithPayload(`{}`),
			want:  Claims{},
		},
		{
			name:  "UnixSubscriptionDates",
			token: jwtWithPayload(`{"https://api.openai.com/auth":{"chatgpt_subscription_active_start":1751371200,"chatgpt_subscription_active_until":null}}`),
			want:  Claims{SubscriptionStart: exp},
		},
		{
			name:  "GarbageSubscriptionDatesIgnored",
			token: jwtWithPayload(`{"https://api.openai.com/auth":{"chatgpt_subscription_active_start":"soon","chatgpt_subscription_active_until":{"x":1}}}`),
			want:  Claims{},
		},
		{
			name:  "EmptySignature",
			token: jwtHeaderSeg + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"email":"a@b.c"}`)) + ".",
			want:  Claims{Email: "a@b.c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClaims(tt.token)
			if err != nil {
				t.Fatalf("ParseClaims: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseClaims =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestParseClaims_Malformed(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name    string
		token   string
		wantMsg string // substring of the error
	}{
		{"Empty", "", "got 1"},
		{"OnePart", "abc", "got 1"},
		{"TwoParts", jwtHeaderSeg + "." + b64([]byte(`{}`)), "got 2"},
		{"FourParts", jwtWithPayload(`{}`) + ".extra", "got 4"},
		{"EmptyPayload", jwtHeaderSeg + ".." + jwtSigSeg, "empty payload"},
		{"BadBase64", jwtHeaderSeg + ".!!!not*base64!!!." + jwtSigSeg, "base64"},
		{"StdBase64Alphabet", jwtHeaderSeg + ".ab+/." + jwtSigSeg, "base64"},
		{"PayloadNotJSON", jwtHeaderSeg + "." + b64([]byte("hello")) + "." + jwtSigSeg, "not a JSON object"},
		{"PayloadArray", jwtWithPayload(`[1,2,3]`), "not a JSON object"},
		{"PayloadString", jwtWithPayload(`"exp"`), "not a JSON object"},
		{"PayloadNull", jwtWithPayload(`null`), "not a JSON object"},
		{"PayloadNumber", jwtWithPayload(`42`), "not a JSON object"},
		{"PayloadTruncated", jwtWithPayload(`{"exp":17`), "not a JSON object"},
		{"ExpString", jwtWithPayload(`{"exp":"soon"}`), "exp"},
		{"ExpNumericString", jwtWithPayload(`{"exp":"1751371200"}`), "exp"},
		{"ExpBool", jwtWithPayload(`{"exp":true}`), "exp"},
		{"ExpObject", jwtWithPayload(`{"exp":{}}`), "exp"},
		{"ExpOutOfRange", jwtWithPayload(`{"exp":1e400}`), "exp"},
		{"IatString", jwtWithPayload(`{"exp":1,"iat":"yesterday"}`), "iat"},
		{"AuthClaimNotObject", jwtWithPayload(`{"https://api.openai.com/auth":"x"}`), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClaims(tt.token)
			if err == nil {
				t.Fatalf("ParseClaims(%q) = %+v, want error", tt.token, got)
			}
			if !errors.Is(err, ErrMalformedJWT) {
				t.Errorf("error %v does not wrap ErrMalformedJWT", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if got != (Claims{}) {
				t.Errorf("claims on error = %+v, want zero", got)
			}
		})
	}
}

func FuzzParseClaims(f *testing.F) {
	exp := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	f.Add(jwtWithClaims(f, openAIIDClaims("acct-1", exp)))
	f.Add(jwtWithClaims(f, openAIAccessClaims("acct-1", exp)))
	f.Add(jwtWithPayload(`{"exp":1751371200.5}`))
	f.Add(jwtWithPayload(`{"exp":"1751371200"}`))
	f.Add(jwtWithPayload(`{"exp":-1e300,"iat":1e300}`))
	f.Add(jwtWithPayload(`{"https://api.openai.com/auth":{"chatgpt_subscription_active_start":1e999}}`))
	f.Add(jwtWithPayload(`null`))
	f.Add(jwtWithPayload(`[]`))
	f.Add("")
	f.Add("...")
	f.Add("a.b.c")
	f.Add("a.=.c")
	f.Add("a.e30.c") // {} unpadded
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseClaims(token)
		if err != nil {
			if !errors.Is(err, ErrMalformedJWT) {
				t.Fatalf("error %v does not wrap ErrMalformedJWT", err)
			}
			if c != (Claims{}) {
				t.Fatalf("claims on error = %+v, want zero", c)
			}
		}
	})
}
