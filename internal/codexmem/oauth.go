package codexmem

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// OAuth is a token endpoint in memory with OpenAI's rules that matter to
// the refresh routine: single-use refresh tokens rotated on every refresh,
// and a reuse rejected with refresh_token_reused (counted). For the HTTP
// endpoint, with revocation and the backend, use internal/openaisim.
type OAuth struct {
	// Delay is waited before each refresh: a realistic round trip widens
	// races.
	Delay time.Duration

	now       func() time.Time
	mu        sync.Mutex
	valid     map[string]string // live refresh token → account id
	spent     map[string]bool
	fail      error
	refreshes atomic.Int64
	reuses    atomic.Int64
}

var _ codex.TokenRefresher = (*OAuth)(nil)

// NewOAuth returns an OAuth issuing tokens stamped with now.
func NewOAuth(now func() time.Time) *OAuth {
	return &OAuth{now: now, valid: map[string]string{}, spent: map[string]bool{}}
}

// Login starts a token family for accountID and returns its auth.json, whose
// access token expires in expiresIn.
func (f *OAuth) Login(accountID string, expiresIn time.Duration) *codex.AuthFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	rt := "rt_" + codex.NewVersionID()
	f.valid[rt] = accountID
	exp := f.now().Add(expiresIn)
	return &codex.AuthFile{Token: codex.Token{
		ID: JWT(accountID, f.now().Add(time.Hour)), Access: JWT(accountID, exp),
		Refresh: rt, AccountID: accountID, ExpiresAt: time.Unix(exp.Unix(), 0).UTC(),
	}}
}

// Fail makes every refresh fail with err (nil ends it).
func (f *OAuth) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// Refreshes counts successful rotations; Reuses counts spent refresh tokens
// presented again.
func (f *OAuth) Refreshes() int64 { return f.refreshes.Load() }

// Reuses: see Refreshes.
func (f *OAuth) Reuses() int64 { return f.reuses.Load() }

// Refresh implements codex.TokenRefresher.
func (f *OAuth) Refresh(ctx context.Context, rt string) (*codex.TokenResponse, error) {
	time.Sleep(f.Delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	acct, ok := f.valid[rt]
	if !ok {
		if f.spent[rt] {
			f.reuses.Add(1)
			return nil, &codex.OAuthError{Status: 401, Code: "refresh_token_reused", Message: "reused"}
		}
		return nil, &codex.OAuthError{Status: 401, Code: "invalid_grant", Message: "unknown"}
	}
	delete(f.valid, rt)
	f.spent[rt] = true
	next := "rt_" + codex.NewVersionID()
	f.valid[next] = acct
	f.refreshes.Add(1)
	return &codex.TokenResponse{
		AccessToken: JWT(acct, f.now().Add(time.Hour)), RefreshToken: next,
		IDToken: JWT(acct, f.now().Add(time.Hour)), ExpiresIn: 3600,
	}, nil
}

// JWT is an unsigned token shaped like OpenAI's: exp and the ChatGPT account
// id (plan plus) in the auth claim, unique per call.
func JWT(accountID string, exp time.Time) string {
	payload, _ := json.Marshal(map[string]any{
		"exp": exp.Unix(), "jti": codex.NewVersionID(),
		"https://api.openai.com/auth": map[string]string{"chatgpt_account_id": accountID, "chatgpt_plan_type": "plus"},
	})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + ".sig"
}
