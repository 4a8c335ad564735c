package openaisim

import "maps"

// Stats are the simulator's counters. Every field counts since New or the
// last ResetStats.
type Stats struct {
	// Token endpoint, refresh_token grant.
	RefreshRequests int `json:"refresh_requests"` // every refresh_token grant request, valid or not
	Refreshes       int `json:"refreshes"`        // successful rotations
	ReuseRejections int `json:"reuse_rejections"` // spent refresh token presented again
	LoginsRevoked   int `json:"logins_revoked"`   // token families revoked after a reuse: logins lost
	RefreshFailures int `json:"refresh_failures"` // every non-200 refresh answer, reuse included
	// Token endpoint, other.
	CodeExchanges        int `json:"code_exchanges"`         // authorization_code grant requests
	CodeExchangeFailures int `json:"code_exchange_failures"` // rejected ones
	TokenBadRequests     int `json:"token_bad_requests"`     // no or unknown grant_type, unreadable body
	Authorizations       int `json:"authorizations"`         // /oauth/authorize redirects with a code
	AuthorizeFailures    int `json:"authorize_failures"`     // /oauth/authorize 400s
	// Backend (responses, compact, models, usage).
	ResponsesRequests int `json:"responses_requests"` // POST /responses, any outcome
	ResponsesOK       int `json:"responses_ok"`       // streams that started (200)
	ResponsesComplete int `json:"responses_complete"` // streams that reached response.completed (counted as it is sent)
	CompactRequests   int `json:"compact_requests"`
	ModelsRequests    int `json:"models_requests"`
	UsageRequests     int `json:"usage_requests"`
	Unauthorized      int `json:"unauthorized"`   // backend 401s
	UsageLimited      int `json:"usage_limited"`  // backend 429s
	BadRequests       int `json:"bad_requests"`   // backend 400s
	FaultsApplied     int `json:"faults_applied"` // requests a fault matched
	// Scripted turns (directives in doc.go), counted as their terminal event is sent.
	ResponsesFailed     int `json:"responses_failed"`     // streams that ended with response.failed
	ResponsesIncomplete int `json:"responses_incomplete"` // streams that ended with response.incomplete
	FunctionCalls       int `json:"function_calls"`       // turns that answered with a function_call item
	// Usage totals over completed and incomplete turns, and
	// the usage of the last one, so tests can compare a front's usage exactly.
	InputTokens     int   `json:"input_tokens"`
	CachedTokens    int   `json:"cached_tokens"`
	OutputTokens    int   `json:"output_tokens"` // reasoning tokens included
	ReasoningTokens int   `json:"reasoning_tokens"`
	LastUsage       Usage `json:"last_usage"`
	// LastModel and LastEffort are the model and reasoning.effort ("" when
	// absent) of the last POST /responses that started a stream: what a
	// proxy resolved a client's model name to.
	LastModel  string `json:"last_model"`
	LastEffort string `json:"last_effort"`
	// RequestsByAccessToken counts backend requests per bearer token, keyed by
	// TokenKey(token), rejected ones included.
	RequestsByAccessToken map[string]int `json:"requests_by_access_token"`
	// Accounts holds per-account counters, keyed by account id.
	Accounts map[string]AccountStats `json:"accounts"`
}

// AccountStats are the counters of one account.
type AccountStats struct {
	Families        int `json:"families"` // logins: AddAccount calls and code exchanges
	Refreshes       int `json:"refreshes"`
	ReuseRejections int `json:"reuse_rejections"`
	LoginsRevoked   int `json:"logins_revoked"`
	ResponsesOK     int `json:"responses_ok"`
	Unauthorized    int `json:"unauthorized"`
	UsageLimited    int `json:"usage_limited"`
}

func newStats() Stats {
	return Stats{RequestsByAccessToken: map[string]int{}}
}

// acct returns the live counters of one account; the caller holds s.mu.
func (s *Sim) acct(id string) *AccountStats {
	a := s.acctStats[id]
	if a == nil {
		a = &AccountStats{}
		s.acctStats[id] = a
	}
	return a
}

// Stats returns a deep copy of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.RequestsByAccessToken = maps.Clone(s.stats.RequestsByAccessToken)
	out.Accounts = make(map[string]AccountStats, len(s.acctStats))
	for id, a := range s.acctStats {
		out.Accounts[id] = *a
	}
	return out
}

// ResetStats zeroes every counter; tokens and accounts are kept.
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
	s.acctStats = map[string]*AccountStats{}
}
