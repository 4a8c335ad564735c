package codex

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// In-memory fakes with the same semantics as the DynamoDB and Secrets
// Manager implementations; the integration tests run the real ones.

type memStore struct {
	mu       sync.Mutex
	versions map[string]map[string][]byte // account → version → auth.json
	current  map[string]string
	calls    atomic.Int64
	// failPromote, while set, fails every Promote with it.
	failPromote error
}

func newMemStore() *memStore {
	return &memStore{versions: map[string]map[string][]byte{}, current: map[string]string{}}
}

func (s *memStore) put(account string, a *AuthFile) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := a.MarshalJSON()
	id := NewVersionID()
	if s.versions[account] == nil {
		s.versions[account] = map[string][]byte{}
	}
	s.versions[account][id] = b
	s.current[account] = id
	return id
}

func (s *memStore) load(account, id string) (Version, error) {
	b, ok := s.versions[account][id]
	if !ok {
		return Version{}, ErrVersionNotFound
	}
	a, err := ParseAuthFile(account, b)
	return Version{ID: id, Auth: a}, err
}

func (s *memStore) LoadCurrent(_ context.Context, account string) (Version, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.current[account]
	if !ok {
		return Version{}, fmt.Errorf("%q: %w", account, ErrAccountNotFound)
	}
	return s.load(account, id)
}

func (s *memStore) LoadVersion(_ context.Context, account, id string) (Version, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(account, id)
}

func (s *memStore) WritePending(_ context.Context, account, id string, a *AuthFile) error {
	s.calls.Add(1)
	b, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.versions[account][id]; ok && string(old) != string(b) {
		return fmt.Errorf("version %s exists with other data", id)
	}
	s.versions[account][id] = b
	return nil
}

func (s *memStore) Promote(_ context.Context, account, from, to string) error {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPromote != nil {
		return s.failPromote
	}
	if _, ok := s.versions[account][to]; !ok {
		return ErrVersionNotFound
	}
	if s.current[account] == to {
		return nil
	}
	if s.current[account] != from {
		return ErrStaleVersion
	}
	s.current[account] = to
	return nil
}

func (s *memStore) Create(_ context.Context, account, id string, a *AuthFile) error {
	s.calls.Add(1)
	b, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.current[account]; ok {
		return ErrAccountExists
	}
	s.versions[account] = map[string][]byte{id: b}
	s.current[account] = id
	return nil
}

func (s *memStore) currentToken(account string) Token {
	v, _ := s.LoadCurrent(context.Background(), account)
	return v.Auth.Token
}

type memLeaser struct {
	mu     sync.Mutex
	now    func() time.Time
	items  map[string]*Lease
	beats  map[string]int64
	calls  atomic.Int64
	always bool // negative control: grant every acquire, as an in-process mutex would across containers
}

func newMemLeaser(now func() time.Time) *memLeaser {
	return &memLeaser{now: now, items: map[string]*Lease{}, beats: map[string]int64{}}
}

func (m *memLeaser) Acquire(_ context.Context, key, owner string, ttl time.Duration, stale *LeaseHeldError) (*Lease, error) {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[key]
	if it == nil {
		it = &Lease{Key: key}
		m.items[key] = it
	}
	rec := &LeaseHeldError{Owner: it.Owner, Fence: it.Fence, Beat: m.beats[key], TTL: it.TTL, ExpiresAt: it.ExpiresAt}
	free := it.Owner == "" || it.ExpiresAt.IsZero() || it.Owner == owner || rec.sameRecord(stale)
	if !m.always && !free {
		return nil, rec
	}
	it.Owner, it.ExpiresAt, it.TTL = owner, m.now().Add(ttl), ttl
	it.Fence++
	m.beats[key] = 0
	cp := *it
	cp.Reauth = maps.Clone(it.Reauth)
	cp.Current = maps.Clone(it.Current)
	return &cp, nil
}

func (m *memLeaser) Renew(_ context.Context, l *Lease, ttl time.Duration) error {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.held(l)
	if err != nil {
		return err
	}
	it.ExpiresAt, it.TTL = m.now().Add(ttl), ttl
	m.beats[l.Key]++
	return nil
}

func (m *memLeaser) held(l *Lease) (*Lease, error) {
	it := m.items[l.Key]
	if it == nil || (!m.always && (it.Owner != l.Owner || it.Fence != l.Fence)) {
		return nil, ErrLeaseLost
	}
	return it, nil
}

func (m *memLeaser) SetPending(_ context.Context, l *Lease, p Pending, b RefreshBudget) error {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.held(l)
	if err != nil {
		return err
	}
	it.Pending, it.Budget = p, b
	return nil
}

func (m *memLeaser) Release(_ context.Context, l *Lease, r Release) error {
	m.calls.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	it, err := m.held(l)
	if err != nil {
		return err
	}
	it.ExpiresAt = time.Time{}
	if r.CurrentVersion != "" {
		if it.Current == nil {
			it.Current = map[string]string{}
		}
		it.Current[r.Account] = r.CurrentVersion
	}
	if r.ClearPending {
		it.Pending = Pending{}
	}
	if r.Reauth != nil {
		it.Reauth = maps.Clone(r.Reauth)
	}
	return nil
}

// fakeOAuth rotates refresh tokens and rejects reuse, like the real endpoint.
type fakeOAuth struct {
	mu        sync.Mutex
	now       func() time.Time
	valid     map[string]string // live refresh token → account id
	spent     map[string]bool
	refreshes atomic.Int64
	reuses    atomic.Int64
	delay     time.Duration
	fail      error // returned instead of refreshing, when set
}

func newFakeOAuth(now func() time.Time) *fakeOAuth {
	return &fakeOAuth{now: now, valid: map[string]string{}, spent: map[string]bool{}}
}

// login starts a token family and returns its first auth.json.
func (f *fakeOAuth) login(accountID string, expiresIn time.Duration) *AuthFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	rt := "rt_" + NewVersionID()
	f.valid[rt] = accountID
	return &AuthFile{Token: Token{
		ID: fakeJWT(accountID, f.now().Add(time.Hour)), Access: fakeJWT(accountID, f.now().Add(expiresIn)),
		Refresh: rt, AccountID: accountID, ExpiresAt: time.Unix(f.now().Add(expiresIn).Unix(), 0).UTC(),
	}}
}

func (f *fakeOAuth) Refresh(ctx context.Context, rt string) (*TokenResponse, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	acct, ok := f.valid[rt]
	if !ok {
		if f.spent[rt] {
			f.reuses.Add(1)
			return nil, &OAuthError{Status: 401, Code: "refresh_token_reused", Message: "reused"}
		}
		return nil, &OAuthError{Status: 401, Code: "invalid_grant", Message: "unknown"}
	}
	delete(f.valid, rt)
	f.spent[rt] = true
	next := "rt_" + NewVersionID()
	f.valid[next] = acct
	f.refreshes.Add(1)
	return &TokenResponse{
		AccessToken: fakeJWT(acct, f.now().Add(time.Hour)), RefreshToken: next,
		IDToken: fakeJWT(acct, f.now().Add(time.Hour)), ExpiresIn: 3600,
	}, nil
}

func fakeJWT(accountID string, exp time.Time) string {
	payload, _ := json.Marshal(map[string]any{
		"exp": exp.Unix(), "jti": randomHex(8),
		"https://api.openai.com/auth": map[string]string{"chatgpt_account_id": accountID, "chatgpt_plan_type": "plus"},
	})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + ".sig"
}
