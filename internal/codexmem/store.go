// Package codexmem is codex's token store and lease in memory, with the
// semantics of their AWS implementations (secretstore on Secrets Manager,
// dynamolease on DynamoDB): tests run the real Refresher on it without the
// local AWS stack. The integration tests run the real backends.
package codexmem

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/codexgate/codexgate/shared/codex"
)

// Store is a codex.TokenStore in memory: versions by account, one current.
type Store struct {
	mu       sync.Mutex
	versions map[string]map[string][]byte // account → version → auth.json
	current  map[string]string
	fail     map[failKey]error
	calls    atomic.Int64
}

var _ codex.TokenStore = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{versions: map[string]map[string][]byte{}, current: map[string]string{}, fail: map[failKey]error{}}
}

// Seed stores a as account's new current version, outside any lease (a
// test's setup), and returns its id.
func (s *Store) Seed(account string, a *codex.AuthFile) string {
	b, err := a.MarshalJSON()
	if err != nil {
		panic(fmt.Sprintf("codexmem: seed %s: %v", account, err))
	}
	return s.SeedRaw(account, b)
}

// SeedRaw stores doc, which need not parse, as account's new current
// version outside any lease (what the AWS console can write), and returns
// its id.
func (s *Store) SeedRaw(account string, doc []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := codex.NewVersionID()
	if s.versions[account] == nil {
		s.versions[account] = map[string][]byte{}
	}
	s.versions[account][id] = doc
	s.current[account] = id
	return id
}

// failKey names what a failure applies to; "" is any.
type failKey struct{ op, account string }

// Fail makes the store's op ("LoadCurrent", "LoadVersion", "WritePending",
// "Promote", "Create"; "" for every op) fail with err for account ("" for
// every account), as a Secrets Manager outage would; nil ends it.
func (s *Store) Fail(op, account string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, failKey{op, account})
		return
	}
	s.fail[failKey{op, account}] = err
}

// Calls counts the calls made, as AWS calls would be.
func (s *Store) Calls() int64 { return s.calls.Load() }

// Current returns account's current version.
func (s *Store) Current(account string) (codex.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(account, s.current[account])
}

func (s *Store) enter(op, account string) error {
	s.calls.Add(1)
	for _, k := range []failKey{{op, account}, {op, ""}, {"", account}, {"", ""}} {
		if err := s.fail[k]; err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) load(account, id string) (codex.Version, error) {
	b, ok := s.versions[account][id]
	if !ok {
		return codex.Version{}, codex.ErrVersionNotFound
	}
	a, err := codex.ParseAuthFile(account, b)
	return codex.Version{ID: id, Auth: a}, err
}

// LoadCurrent implements codex.TokenStore.
func (s *Store) LoadCurrent(_ context.Context, account string) (codex.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("LoadCurrent", account); err != nil {
		return codex.Version{}, err
	}
	id, ok := s.current[account]
	if !ok {
		return codex.Version{}, fmt.Errorf("load account %q: %w", account, codex.ErrAccountNotFound)
	}
	return s.load(account, id)
}

// LoadVersion implements codex.TokenStore.
func (s *Store) LoadVersion(_ context.Context, account, id string) (codex.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("LoadVersion", account); err != nil {
		return codex.Version{}, err
	}
	return s.load(account, id)
}

// WritePending implements codex.TokenStore: the same id with the same data
// is a no-op, with other data an error.
func (s *Store) WritePending(_ context.Context, account, id string, a *codex.AuthFile) error {
	b, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("WritePending", account); err != nil {
		return err
	}
	if _, ok := s.current[account]; !ok {
		return fmt.Errorf("write pending %s: %w", id, codex.ErrAccountNotFound)
	}
	if old, ok := s.versions[account][id]; ok && string(old) != string(b) {
		return fmt.Errorf("version %s exists with other data", id)
	}
	s.versions[account][id] = b
	return nil
}

// Promote implements codex.TokenStore (a compare-and-swap on from).
func (s *Store) Promote(_ context.Context, account, from, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Promote", account); err != nil {
		return err
	}
	switch {
	case s.current[account] == to:
		return nil
	case s.current[account] != from:
		return codex.ErrStaleVersion
	}
	if _, ok := s.versions[account][to]; !ok {
		return codex.ErrVersionNotFound
	}
	s.current[account] = to
	return nil
}

// Create implements codex.TokenStore.
func (s *Store) Create(_ context.Context, account, id string, a *codex.AuthFile) error {
	b, err := a.MarshalJSON()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enter("Create", account); err != nil {
		return err
	}
	if _, ok := s.current[account]; ok {
		return codex.ErrAccountExists
	}
	s.versions[account] = map[string][]byte{id: b}
	s.current[account] = id
	return nil
}

// List returns the accounts, sorted (secretstore.Store.List's contract).
func (s *Store) List(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.current)), nil
}
