package codex

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Facts about the fixtures in testdata/ (written as Codex CLI writes auth.json).
const (
	fixtureAccountID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	fixtureRefresh   = "rt_Zk9qL2xQe0nV3bH7sT1yW4uR8oP6iA5d.Mx2cN7vB9gF4hJ1kL3zX"
)

var (
	fixtureAccessExp = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC) // access_token exp
	fixtureIDExp     = time.Unix(1750511043, 0).UTC()               // id_token exp: differs on purpose
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// decodeJSON decodes for comparison; UseNumber keeps big integers exact.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func mustParseAuthFile(t testing.TB, account string, data []byte) *AuthFile {
	t.Helper()
	a, err := ParseAuthFile(account, data)
	if err != nil {
		t.Fatalf("ParseAuthFile: %v", err)
	}
	return a
}

func TestParseAuthFile_Fixtures(t *testing.T) {
	tests := []struct {
		file            string
		wantLastRefresh time.Time
	}{
		{"auth.json", time.Date(2025, 6, 21, 9, 14, 3, 123456000, time.UTC)},
		{"auth_unknown_fields.json", time.Date(2025, 6, 21, 9, 14, 3, 123456789, time.UTC)},
		{"auth_no_account_id.json", time.Date(2025, 6, 21, 9, 14, 3, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a := mustParseAuthFile(t, "work-1", readFixture(t, tt.file))
			tok := a.Token
			if tok.Refresh != fixtureRefresh {
				t.Errorf("Refresh = %q, want %q", tok.Refresh, fixtureRefresh)
			}
			if tok.AccountID != fixtureAccountID {
				t.Errorf("AccountID = %q, want %q", tok.AccountID, fixtureAccountID)
			}
			if !tok.ExpiresAt.Equal(fixtureAccessExp) {
				t.Errorf("ExpiresAt = %v, want access token exp %v (not id_token exp %v)", tok.ExpiresAt, fixtureAccessExp, fixtureIDExp)
			}
			if !strings.HasPrefix(tok.Access, "eyJ") || !strings.HasPrefix(tok.ID, "eyJ") {
				t.Errorf("Access/ID not the fixture JWTs: %.20q %.20q", tok.Access, tok.ID)
			}
			if !a.LastRefresh.Equal(tt.wantLastRefresh) {
				t.Errorf("LastRefresh = %v, want %v", a.LastRefresh, tt.wantLastRefresh)
			}
			c := a.Claims()
			want := Claims{
				AccountID: fixtureAccountID, PlanType: "plus", UserID: "user-Abc123", Email: "ada@example.com",
				ExpiresAt: fixtureAccessExp, IssuedAt: fixtureIDExp.Add(-time.Hour),
				SubscriptionStart: time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC),
				SubscriptionUntil: time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC),
			}
			if c != want {
				t.Errorf("Claims =\n %+v\nwant\n %+v", c, want)
			}
		})
	}
}

func TestAuthFile_MarshalJSON_RoundTrip(t *testing.T) {
	tests := []struct {
		file string
		// edit turns the fixture's decoded JSON into what Marshal should write.
		edit func(doc map[string]any)
	}{
		{file: "auth.json"},
		{file: "auth_unknown_fields.json"},
		{file: "auth_no_account_id.json", edit: func(doc map[string]any) {
			// The account id derived from the JWT is written out.
			doc["tokens"].(map[string]any)["account_id"] = fixtureAccountID
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := readFixture(t, tt.file)
			a := mustParseAuthFile(t, "work-1", in)
			out, err := json.Marshal(a)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			want := decodeJSON(t, in).(map[string]any)
			if tt.edit != nil {
				tt.edit(want)
			}
			if got := decodeJSON(t, out); !reflect.DeepEqual(got, any(want)) {
				t.Errorf("round trip changed the document:\n got %s\nfrom %s", out, in)
			}
			b := mustParseAuthFile(t, "work-1", out)
			if b.Token != a.Token || !b.LastRefresh.Equal(a.LastRefresh) {
				t.Errorf("re-parse = %+v %v, want %+v %v", b.Token, b.LastRefresh, a.Token, a.LastRefresh)
			}
		})
	}
}

func TestParseAuthFile_Invalid(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantMsg string
	}{
		{"Empty", ``, "not a JSON object"},
		{"NotJSON", `OPENAI_API_KEY=sk-xyz`, "not a JSON object"},
		{"Truncated", `{"tokens":{"refresh_token":"rt"`, "not a JSON object"},
		{"Array", `[{"tokens":{}}]`, "not a JSON object"},
		{"Null", `null`, "not a JSON object"},
		{"String", `"tokens"`, "not a JSON object"},
		{"APIKeyOnly", string(readFixture(t, "auth_api_key_only.json")), `no "tokens"`},
		{"TokensNull", `{"tokens":null}`, `no "tokens"`},
		{"TokensString", `{"tokens":"rt_abc"}`, `"tokens" is not an object`},
		{"TokensArray", `{"tokens":["rt_abc"]}`, `"tokens" is not an object`},
		{"RefreshMissing", string(readFixture(t, "auth_no_refresh_token.json")), "refresh_token is missing"},
		{"RefreshEmpty", `{"tokens":{"refresh_token":""}}`, "refresh_token is missing"},
		{"RefreshNull", `{"tokens":{"refresh_token":null}}`, "refresh_token is missing"},
		{"RefreshNumber", `{"tokens":{"refresh_token":12345}}`, "tokens.refresh_token is not a string"},
		{"RefreshObject", `{"tokens":{"refresh_token":{"value":"rt"}}}`, "tokens.refresh_token is not a string"},
		{"AccessNumber", `{"tokens":{"refresh_token":"rt","access_token":1}}`, "tokens.access_token is not a string"},
		{"AccountIDBool", `{"tokens":{"refresh_token":"rt","account_id":true}}`, "tokens.account_id is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAuthFile("team-pool-7", []byte(tt.data))
			if err == nil {
				t.Fatalf("ParseAuthFile = %+v, want error", a)
			}
			if a != nil {
				t.Errorf("AuthFile on error = %+v, want nil", a)
			}
			if !errors.Is(err, ErrInvalidAuthFile) {
				t.Errorf("error %v does not wrap ErrInvalidAuthFile", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "team-pool-7") {
				t.Errorf("error %q does not name the account", msg)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not say %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, fixtureRefresh) || strings.Contains(msg, "sk-proj") {
				t.Errorf("error %q leaks a secret", msg)
			}
		})
	}
}

func TestParseAuthFile_AccountIDAndExpiry(t *testing.T) {
	exp := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	access := jwtWithClaims(t, openAIAccessClaims("acct-from-access", exp))
	id := jwtWithClaims(t, openAIIDClaims("acct-from-id", exp.Add(-time.Hour)))
	noExpAccess := jwtWithPayload(`{"https://api.openai.com/auth":{"chatgpt_account_id":"acct-from-access"}}`)
	doc := func(tokens map[string]any) []byte {
		tokens["refresh_token"] = "rt_1"
		b, _ := json.Marshal(map[string]any{"tokens": tokens})
		return b
	}
	tests := []struct {
		name          string
		tokens        map[string]any
		wantAccountID string
		wantExpiresAt time.Time
	}{
		{"ExplicitAccountIDWins", map[string]any{"access_token": access, "id_token": id, "account_id": "acct-explicit"}, "acct-explicit", exp},
		{"FromAccessClaim", map[string]any{"access_token": access, "id_token": id}, "acct-from-access", exp},
		{"EmptyAccountIDFromAccessClaim", map[string]any{"access_token": access, "id_token": id, "account_id": ""}, "acct-from-access", exp},
		{"NullAccountIDFromAccessClaim", map[string]any{"access_token": access, "account_id": nil}, "acct-from-access", exp},
		{"FromIDClaimWhenAccessOpaque", map[string]any{"access_token": "opaque-access", "id_token": id}, "acct-from-id", time.Time{}},
		{"AccessWithoutExp", map[string]any{"access_token": noExpAccess}, "acct-from-access", time.Time{}},
		{"NoJWTs", map[string]any{"access_token": "a", "id_token": "b"}, "", time.Time{}},
		{"NoAccessToken", map[string]any{"id_token": id}, "acct-from-id", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParseAuthFile(t, "work-1", doc(tt.tokens))
			if a.Token.AccountID != tt.wantAccountID {
				t.Errorf("AccountID = %q, want %q", a.Token.AccountID, tt.wantAccountID)
			}
			if !a.Token.ExpiresAt.Equal(tt.wantExpiresAt) {
				t.Errorf("ExpiresAt = %v, want %v", a.Token.ExpiresAt, tt.wantExpiresAt)
			}
		})
	}
}

func TestAuthFile_WithToken_KeepsUnknownFields(t *testing.T) {
	in := readFixture(t, "auth_unknown_fields.json")
	a := mustParseAuthFile(t, "work-1", in)
	before, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	newExp := time.Date(2025, 7, 11, 12, 0, 0, 0, time.UTC)
	newTok := Token{
		ID:      jwtWithClaims(t, openAIIDClaims(fixtureAccountID, newExp)),
		Access:  jwtWithClaims(t, openAIAccessClaims(fixtureAccountID, newExp)),
		Refresh: "rt_rotated",
	}
	refreshedAt := time.Date(2025, 7, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	b := a.WithToken(newTok, refreshedAt)

	if b.Token.Refresh != "rt_rotated" || b.Token.Access != newTok.Access || b.Token.ID != newTok.ID {
		t.Errorf("WithToken tokens = %+v", b.Token)
	}
	if b.Token.AccountID != fixtureAccountID {
		t.Errorf("AccountID = %q, want %q from the claims", b.Token.AccountID, fixtureAccountID)
	}
	if !b.Token.ExpiresAt.Equal(newExp) {
		t.Errorf("ExpiresAt = %v, want %v", b.Token.ExpiresAt, newExp)
	}
	if !b.LastRefresh.Equal(refreshedAt) || b.LastRefresh.Location() != time.UTC {
		t.Errorf("LastRefresh = %v, want %v in UTC", b.LastRefresh, refreshedAt)
	}

	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := decodeJSON(t, in).(map[string]any)
	toks := want["tokens"].(map[string]any)
	toks["id_token"], toks["access_token"], toks["refresh_token"] = newTok.ID, newTok.Access, "rt_rotated"
	want["last_refresh"] = "2025-07-01T12:00:00Z"
	if got := decodeJSON(t, out); !reflect.DeepEqual(got, any(want)) {
		t.Errorf("WithToken document:\n got %s\nwant %v", out, want)
	}

	// The original is untouched.
	after, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("WithToken changed the original:\n%s\n%s", before, after)
	}
}

func TestLeaseKey(t *testing.T) {
	tests := []struct {
		name    string
		account string
		data    string
		want    string
	}{
		{"ExplicitAccountID", "work-1", string(readFixture(t, "auth.json")), "chatgpt:" + fixtureAccountID},
		{"AccountIDFromClaims", "work-1", string(readFixture(t, "auth_no_account_id.json")), "chatgpt:" + fixtureAccountID},
		{"NoAccountIDFallsBackToSecret", "work-1", `{"tokens":{"access_token":"opaque","refresh_token":"rt_secret_value"}}`, "secret:work-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParseAuthFile(t, tt.account, []byte(tt.data))
			got := LeaseKey(tt.account, a)
			if got != tt.want {
				t.Errorf("LeaseKey = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, a.Token.Refresh) {
				t.Errorf("LeaseKey %q contains the refresh token", got)
			}
		})
	}

	// Two secrets of one ChatGPT account share a lease, and rotation does not move it.
	a := mustParseAuthFile(t, "work-1", readFixture(t, "auth.json"))
	b := mustParseAuthFile(t, "work-1-copy", readFixture(t, "auth_no_account_id.json"))
	rotated := a.WithToken(a.Token.Merge(&TokenResponse{RefreshToken: "rt_next"}, time.Now()), time.Now())
	if ka, kb, kr := LeaseKey("work-1", a), LeaseKey("work-1-copy", b), LeaseKey("work-1", rotated); ka != kb || ka != kr {
		t.Errorf("lease keys differ: %q %q %q", ka, kb, kr)
	}
}

func TestToken_ValidAt(t *testing.T) {
	exp := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	valid := Token{Access: "at", Refresh: "rt", ExpiresAt: exp}
	tests := []struct {
		name string
		tok  Token
		now  time.Time
		skew time.Duration
		want bool
	}{
		{"WellBefore", valid, exp.Add(-time.Hour), 5 * time.Minute, true},
		{"InsideSkew", valid, exp.Add(-4 * time.Minute), 5 * time.Minute, false},
		{"ExactlyAtSkew", valid, exp.Add(-5 * time.Minute), 5 * time.Minute, false},
		{"JustOutsideSkew", valid, exp.Add(-5*time.Minute - time.Nanosecond), 5 * time.Minute, true},
		{"NoSkewBefore", valid, exp.Add(-time.Second), 0, true},
		{"NoSkewAtExpiry", valid, exp, 0, false},
		{"Expired", valid, exp.Add(time.Hour), 0, false},
		{"ZeroExpiry", Token{Access: "at", Refresh: "rt"}, exp, 0, false},
		{"NoAccessToken", Token{Refresh: "rt", ExpiresAt: exp}, exp.Add(-time.Hour), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.ValidAt(tt.now, tt.skew); got != tt.want {
				t.Errorf("ValidAt(%v, %v) = %v, want %v", tt.now, tt.skew, got, tt.want)
			}
		})
	}
}

func TestToken_Merge(t *testing.T) {
	now := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	oldExp := now.Add(-time.Minute)
	newExp := now.Add(240 * time.Hour)
	oldAccess := jwtWithClaims(t, openAIAccessClaims("acct-1", oldExp))
	newAccess := jwtWithClaims(t, openAIAccessClaims("acct-1", newExp))
	newAccessOtherAcct := jwtWithClaims(t, openAIAccessClaims("acct-2", newExp))
	noExpAccess := jwtWithPayload(`{"iss":"https://auth.openai.com"}`)
	old := Token{ID: "old-id", Access: oldAccess, Refresh: "rt_old", AccountID: "acct-1", ExpiresAt: oldExp}

	tests := []struct {
		name string
		old  Token
		resp TokenResponse
		want Token
	}{
		{
			name: "AllFieldsJWTExpWinsOverExpiresIn",
			old:  old,
			resp: TokenResponse{AccessToken: newAccess, RefreshToken: "rt_new", IDToken: "new-id", ExpiresIn: 3600},
			want: Token{ID: "new-id", Access: newAccess, Refresh: "rt_new", AccountID: "acct-1", ExpiresAt: newExp},
		},
		{
			name: "MissingRefreshAndIDKeepOld",
			old:  old,
			resp: TokenResponse{AccessToken: newAccess, ExpiresIn: 864000},
			want: Token{ID: "old-id", Access: newAccess, Refresh: "rt_old", AccountID: "acct-1", ExpiresAt: newExp},
		},
		{
			name: "MissingAccessKeepsOldAndItsExp",
			old:  old,
			resp: TokenResponse{RefreshToken: "rt_new", ExpiresIn: 864000},
			want: Token{ID: "old-id", Access: oldAccess, Refresh: "rt_new", AccountID: "acct-1", ExpiresAt: oldExp},
		},
		{
			name: "EmptyResponseKeepsEverything",
			old:  old,
			resp: TokenResponse{},
			want: old,
		},
		{
			name: "OpaqueAccessUsesExpiresIn",
			old:  old,
			resp: TokenResponse{AccessToken: "opaque", RefreshToken: "rt_new", ExpiresIn: 864000},
			want: Token{ID: "old-id", Access: "opaque", Refresh: "rt_new", AccountID: "acct-1", ExpiresAt: now.Add(864000 * time.Second)},
		},
		{
			name: "JWTWithoutExpUsesExpiresIn",
			old:  old,
			resp: TokenResponse{AccessToken: noExpAccess, ExpiresIn: 60},
			want: Token{ID: "old-id", Access: noExpAccess, Refresh: "rt_old", AccountID: "acct-1", ExpiresAt: now.Add(time.Minute)},
		},
		{
			name: "OpaqueAccessNoExpiresInIsExpired",
			old:  old,
			resp: TokenResponse{AccessToken: "opaque"},
			want: Token{ID: "old-id", Access: "opaque", Refresh: "rt_old", AccountID: "acct-1"},
		},
		{
			name: "AccountIDFromNewClaims",
			old:  old,
			resp: TokenResponse{AccessToken: newAccessOtherAcct},
			want: Token{ID: "old-id", Access: newAccessOtherAcct, Refresh: "rt_old", AccountID: "acct-2", ExpiresAt: newExp},
		},
		{
			name: "AccountIDFilledWhenMissing",
			old:  Token{Refresh: "rt_old"},
			resp: TokenResponse{AccessToken: newAccess, RefreshToken: "rt_new"},
			want: Token{Access: newAccess, Refresh: "rt_new", AccountID: "acct-1", ExpiresAt: newExp},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.old.Merge(&tt.resp, now)
			if got.ID != tt.want.ID || got.Access != tt.want.Access || got.Refresh != tt.want.Refresh ||
				got.AccountID != tt.want.AccountID || !got.ExpiresAt.Equal(tt.want.ExpiresAt) {
				t.Errorf("Merge =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseAuthFile(f *testing.F) {
	for _, name := range []string{"auth.json", "auth_unknown_fields.json", "auth_no_account_id.json", "auth_no_refresh_token.json", "auth_api_key_only.json"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		`{"tokens":{"refresh_token":"rt"}}`,
		`{"tokens":{"refresh_token":"rt","account_id":null,"id_token":null}}`,
		`{"tokens":{"refresh_token":"rt","access_token":"a.e30.c"},"last_refresh":"0000-01-01T00:00:00+01:00"}`,
		`{"tokens":{"refresh_token":"rt\u0000\ud800"},"x":{"y":[1e400]}}`,
		`{"tokens":{"refresh_token":"rt","refresh_token":"rt2"},"tokens":{"refresh_token":"rt3"}}`,
		`{"tokens":{"refresh_token":"rt"},"last_refresh":12}`,
		`{"tokens":[]}`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAuthFile("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrInvalidAuthFile) {
				t.Fatalf("error %v does not wrap ErrInvalidAuthFile", err)
			}
			return
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("Marshal of a parsed file: %v", err)
		}
		b, err := ParseAuthFile("fuzz", out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if b.Token.ID != a.Token.ID || b.Token.Access != a.Token.Access || b.Token.Refresh != a.Token.Refresh ||
			b.Token.AccountID != a.Token.AccountID || !b.Token.ExpiresAt.Equal(a.Token.ExpiresAt) {
			t.Fatalf("round trip changed the token:\n got %+v\nwant %+v", b.Token, a.Token)
		}
	})
}
