package scheduled

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
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

// recordedTokens is the real refresh routine (on the token store and lease
// in memory, internal/codexmem, and the simulator's token endpoint), with a
// log of the calls made to it: "account", or "account!" when forced.
type recordedTokens struct {
	codex.TokenSource
	mu  sync.Mutex
	log []string
}

func (r *recordedTokens) AccessToken(ctx context.Context, account string, o codex.AccessOptions) (codex.Credentials, error) {
	entry := account
	if o.Force {
		entry += "!"
	}
	r.mu.Lock()
	r.log = append(r.log, entry)
	r.mu.Unlock()
	return r.TokenSource.AccessToken(ctx, account, o)
}

func (r *recordedTokens) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// fixture is a simulator with named accounts ("id-<name>") stored in memory
// behind the real refresh routine.
type fixture struct {
	t       *testing.T
	sim     *openaisim.Sim
	secrets *codexmem.Store
	tokens  *recordedTokens
	usage   *usage.Client
	issued  []string // every access token handed to the store
}

func newFixture(t *testing.T, accounts ...string) *fixture {
	t.Helper()
	sim := openaisim.New(openaisim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	secrets := codexmem.NewStore()
	refresher := codex.NewRefresher(secrets, codexmem.NewLeaser(time.Now),
		&codex.OAuthClient{TokenURL: srv.URL + "/oauth/token"}, codex.WithLogger(slog.New(slog.DiscardHandler)))
	f := &fixture{
		t: t, sim: sim, secrets: secrets,
		tokens: &recordedTokens{TokenSource: refresher},
		usage:  &usage.Client{URL: srv.URL + "/backend-api/wham/usage"},
	}
	for _, a := range accounts {
		f.expires(a, time.Now().Add(time.Hour))
	}
	return f
}

// expires stores a new login of account whose access token expires at at.
func (f *fixture) expires(account string, at time.Time) {
	f.t.Helper()
	shift := time.Until(at) - time.Hour // the simulator issues tokens for an hour
	f.sim.Advance(shift)
	tok := f.sim.AddAccount(openaisim.Account{ID: "id-" + account, Plan: "plus"})
	f.sim.Advance(-shift)
	auth, err := codex.ParseAuthFile(account, f.sim.AuthJSON(tok))
	if err != nil {
		f.t.Fatal(err)
	}
	f.secrets.Seed(account, auth)
	f.issued = append(f.issued, tok.AccessToken)
}

// revoke signs the account out at the simulator: its next refresh is a
// terminal error, as after a reuse.
func (f *fixture) revoke(account string) {
	f.t.Helper()
	if err := f.sim.RevokeAccount("id-" + account); err != nil {
		f.t.Fatal(err)
	}
}

// fail makes every read of account's secret fail with err.
func (f *fixture) fail(account string, err error) { f.secrets.Fail("", account, err) }

var errBoom = errors.New("boom")

// marked is a state with the login known dead.
var marked = statestore.AccountState{Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused"}
