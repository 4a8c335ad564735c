package openaisim

import (
	"fmt"
	"time"
)

// Usage windows of the ChatGPT plans, as the backend reports them.
const (
	primaryWindow   = 5 * time.Hour      // limit_window_seconds 18000
	secondaryWindow = 7 * 24 * time.Hour // limit_window_seconds 604800
)

// AddAccount registers the account (or updates the one with the same ID) and
// starts a new token family for it, like one fresh login. Two calls for one
// ID give two independent families, as two logins would.
func (s *Sim) AddAccount(a Account) Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.ensureAccountLocked(a)
	return s.newFamilyLocked(acct.ID)
}

// SetLoginAccount registers the account (without issuing tokens) and makes it
// the one /oauth/authorize logs in as. Without it, the first account is used.
func (s *Sim) SetLoginAccount(a Account) Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.ensureAccountLocked(a)
	s.loginID = acct.ID
	return acct.Account
}

// Accounts lists the registered accounts in creation order.
func (s *Sim) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.accounts[id].Account)
	}
	return out
}

// ExpireAccessTokens invalidates server-side every access token issued so far
// for the account: the backend answers them 401 token_expired whatever their
// exp. Refresh tokens are unaffected; tokens issued later are valid.
func (s *Sim) ExpireAccessTokens(accountID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts[accountID] == nil {
		return fmt.Errorf("expire access tokens of %q: %w", accountID, ErrUnknownAccount)
	}
	for _, rec := range s.access {
		if rec.fam.accountID == accountID {
			rec.invalidated = true
		}
	}
	return nil
}

// RevokeAccount revokes every token family of the account (a sign-out
// everywhere): refreshes get refresh_token_invalidated, access tokens
// token_invalidated. Only a new login (AddAccount, PKCE) recovers.
func (s *Sim) RevokeAccount(accountID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts[accountID] == nil {
		return fmt.Errorf("revoke %q: %w", accountID, ErrUnknownAccount)
	}
	for _, f := range s.families {
		if f.accountID == accountID {
			f.revoked = true
		}
	}
	return nil
}

// SetUsage sets the used percentages of the 5-hour (primary) and weekly
// (secondary) windows. Each successful /responses adds a little to both.
func (s *Sim) SetUsage(accountID string, primaryPct, secondaryPct float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return fmt.Errorf("set usage of %q: %w", accountID, ErrUnknownAccount)
	}
	a.primary, a.secondary = primaryPct, secondaryPct
	return nil
}

// SetUsageLimit makes /responses and /responses/compact answer 429
// usage_limit_reached until resetsAt (simulator clock), and /wham/usage report
// limit_reached. A reset within 5 h is reported on the 5-hour window, a later
// one on the weekly window.
func (s *Sim) SetUsageLimit(accountID string, resetsAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return fmt.Errorf("set usage limit of %q: %w", accountID, ErrUnknownAccount)
	}
	a.limitUntil = resetsAt
	return nil
}

// ClearUsageLimit lifts a limit set by SetUsageLimit.
func (s *Sim) ClearUsageLimit(accountID string) error {
	return s.SetUsageLimit(accountID, time.Time{})
}

// SwapUsageWindows makes /wham/usage put the weekly window in primary_window
// and the 5-hour one in secondary_window: product code must classify windows
// by limit_window_seconds, not position.
func (s *Sim) SwapUsageWindows(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swapWindows = on
}

func (s *Sim) ensureAccountLocked(a Account) *account {
	a = a.withDefaults()
	if acct := s.accounts[a.ID]; acct != nil {
		acct.Account = a
		return acct
	}
	now := s.nowLocked()
	acct := &account{
		Account:        a,
		primaryReset:   now.Add(primaryWindow),
		secondaryReset: now.Add(secondaryWindow),
	}
	s.accounts[a.ID] = acct
	s.order = append(s.order, a.ID)
	return acct
}

// loginAccountLocked is the account /oauth/authorize logs in as.
func (s *Sim) loginAccountLocked() *account {
	if s.loginID != "" {
		return s.accounts[s.loginID]
	}
	if len(s.order) > 0 {
		return s.accounts[s.order[0]]
	}
	return nil
}

func (s *Sim) newFamilyLocked(accountID string) Tokens {
	f := &family{id: uuid(), accountID: accountID}
	s.families[f.id] = f
	s.acct(accountID).Families++
	return s.issueLocked(f)
}

// issueLocked mints a token set in family f: the previous access tokens of
// the family become superseded, the new refresh token becomes current.
func (s *Sim) issueLocked(f *family) Tokens {
	a := s.accounts[f.accountID].Account
	now := s.nowLocked().Truncate(time.Second)
	exp := now.Add(s.opts.AccessTTL)
	if f.lastAccess != nil {
		f.lastAccess.superseded = true
	}
	t := Tokens{
		IDToken:      mintJWT(idClaims(a, now)),
		AccessToken:  mintJWT(accessClaims(a, now, exp)),
		RefreshToken: "rt_" + randString(43),
		AccountID:    a.ID,
		ExpiresAt:    exp,
	}
	f.lastAccess = &accessRecord{fam: f, exp: exp}
	s.access[t.AccessToken] = f.lastAccess
	s.refresh[t.RefreshToken] = &refreshRecord{fam: f, issued: now}
	f.current = t.RefreshToken
	return t
}

// rollWindowsLocked starts new usage windows once their reset time passed.
func (a *account) rollWindowsLocked(now time.Time) {
	for !now.Before(a.primaryReset) {
		a.primary = 0
		a.primaryReset = a.primaryReset.Add(primaryWindow)
	}
	for !now.Before(a.secondaryReset) {
		a.secondary = 0
		a.secondaryReset = a.secondaryReset.Add(secondaryWindow)
	}
}
