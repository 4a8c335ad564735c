package codex_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/shared/codex"
)

// staleStore serves the previous AWSCURRENT for 3 s after each promote
// (what moto-serial.py does for *stale-reads* secrets); reads by id exact.
type staleStore struct {
	*codexmem.Store
	mu    sync.Mutex
	prev  map[string]string
	until time.Time
}

func (s *staleStore) Promote(ctx context.Context, account, from, to string) error {
	cur, _ := s.Store.Current(account)
	err := s.Store.Promote(ctx, account, from, to)
	if err == nil && cur.ID == from {
		s.mu.Lock()
		s.prev[account], s.until = from, time.Now().Add(3*time.Second)
		s.mu.Unlock()
	}
	return err
}

func (s *staleStore) LoadCurrent(ctx context.Context, account string) (codex.Version, error) {
	s.mu.Lock()
	p, u := s.prev[account], s.until
	s.mu.Unlock()
	if p != "" && time.Now().Before(u) {
		return s.Store.LoadVersion(ctx, account, p)
	}
	return s.Store.LoadCurrent(ctx, account)
}

// learnID: the token endpoint's answer carries the ChatGPT account id.
type learnID struct {
	*codexmem.OAuth
	id string
}

func (l learnID) Refresh(ctx context.Context, rt string) (*codex.TokenResponse, error) {
	r, err := l.OAuth.Refresh(ctx, rt)
	if err != nil {
		return r, err
	}
	r.AccessToken = codexmem.JWT(l.id, time.Now().Add(time.Hour))
	r.IDToken = codexmem.JWT(l.id, time.Now().Add(time.Hour))
	return r, nil
}

// §3.8: a named version whose content belongs to another lease key falls
// back to AWSCURRENT, the read the rule exists to avoid. After the first
// refresh of a login without an account id (key secret:S -> chatgpt:X), a
// container whose (stale) read still shows the old version takes secret:S,
// finds the name "history", reads AWSCURRENT (stale: the old version, whose
// refresh token was just spent), and refreshes from it.
func TestRefresher_KeyChangeReadsNamedVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		loginID string
	}{
		{"login without account id (key changes at first refresh)", ""},
		{"control: account id known (key unchanged)", "acct-y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := newRig()
			st := &staleStore{Store: g.store, prev: map[string]string{}}
			g.store.Seed("s", g.oauth.Login(tc.loginID, time.Minute)) // due
			oa := learnID{OAuth: g.oauth, id: "acct-y"}
			r1 := codex.NewRefresher(st, g.leases, oa, auditOpts()...)
			if _, err := r1.AccessToken(ctx, "s", codex.AccessOptions{}); err != nil {
				t.Fatal(err)
			}
			r2 := codex.NewRefresher(st, g.leases, oa, auditOpts()...) // a cold container, right after
			c, err := r2.AccessToken(ctx, "s", codex.AccessOptions{})
			t.Logf("second container: err=%v account=%q; refreshes=%d reuses=%d", err, c.AccountID, g.oauth.Refreshes(), g.oauth.Reuses())
			if g.oauth.Reuses() != 0 {
				t.Errorf("a spent refresh token was presented again (%d reuse)", g.oauth.Reuses())
			}
		})
	}
}
