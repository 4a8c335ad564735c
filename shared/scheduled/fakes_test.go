package scheduled

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/usage"
)

// listFunc adapts a function to Accounts.
type listFunc func(ctx context.Context) ([]string, error)

func (f listFunc) List(ctx context.Context) ([]string, error) { return f(ctx) }

func names(n ...string) Accounts {
	return listFunc(func(context.Context) ([]string, error) { return n, nil })
}

// memStates is an in-memory state table.
type memStates struct {
	mu      sync.Mutex
	states  map[string]statestore.AccountState
	quotas  map[string]statestore.QuotaSnapshot
	cleared []string // ClearReauth calls
	err     error    // returned by every write when set
}

var _ QuotaStates = (*memStates)(nil)

func newMemStates() *memStates {
	return &memStates{states: map[string]statestore.AccountState{}, quotas: map[string]statestore.QuotaSnapshot{}}
}

func (m *memStates) Load(context.Context) (statestore.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return statestore.Snapshot{States: maps.Clone(m.states), Quotas: maps.Clone(m.quotas)}, nil
}

func (m *memStates) PutQuota(_ context.Context, q statestore.QuotaSnapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.quotas[q.Account] = q
	return nil
}

func (m *memStates) ClearReauth(_ context.Context, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[account]
	st.Status = statestore.StatusOK
	m.states[account] = st
	m.cleared = append(m.cleared, account)
	return nil
}

func (m *memStates) SetCooldown(_ context.Context, account string, until time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[account]
	st.CooldownUntil, st.CooldownReason = until, reason
	m.states[account] = st
	return m.err
}

func (m *memStates) ClearCooldown(_ context.Context, account string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[account]
	st.CooldownUntil, st.CooldownReason = time.Time{}, ""
	m.states[account] = st
	return m.err
}

func (m *memStates) state(account string) statestore.AccountState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[account]
}

// simTokens is a TokenSource over simulator-issued tokens: a forced call
// hands out a fresh login's tokens, errs[account] fails the account.
type simTokens struct {
	sim  *openaisim.Sim
	mu   sync.Mutex
	toks map[string]openaisim.Tokens
	errs map[string]error
	exp  map[string]time.Time // reported expiry override
	log  []string             // "account" or "account!" (forced)
}

func (s *simTokens) AccessToken(_ context.Context, account string, o codex.AccessOptions) (codex.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entry := account
	if o.Force {
		entry += "!"
	}
	s.log = append(s.log, entry)
	if err := s.errs[account]; err != nil {
		return codex.Credentials{}, err
	}
	t, ok := s.toks[account]
	if !ok {
		return codex.Credentials{}, codex.ErrAccountNotFound
	}
	if o.Force {
		t = s.sim.AddAccount(openaisim.Account{ID: t.AccountID})
		s.toks[account] = t
		delete(s.exp, account)
	}
	exp := t.ExpiresAt
	if e, ok := s.exp[account]; ok {
		exp = e
	}
	return codex.Credentials{Access: t.AccessToken, AccountID: t.AccountID, ExpiresAt: exp}, nil
}

func (s *simTokens) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// fixture is a simulator with named accounts behind a simTokens.
type fixture struct {
	sim    *openaisim.Sim
	tokens *simTokens
	usage  *usage.Client
}

func newFixture(t *testing.T, accounts ...string) *fixture {
	t.Helper()
	sim := openaisim.New(openaisim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := &fixture{
		sim:    sim,
		tokens: &simTokens{sim: sim, toks: map[string]openaisim.Tokens{}, errs: map[string]error{}, exp: map[string]time.Time{}},
		usage:  &usage.Client{URL: srv.URL + "/backend-api/wham/usage"},
	}
	for _, a := range accounts {
		f.tokens.toks[a] = sim.AddAccount(openaisim.Account{ID: "id-" + a, Plan: "plus"})
	}
	return f
}

var errBoom = errors.New("boom")

// marked is a state with the login known dead.
var marked = statestore.AccountState{Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused"}
