package codex_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/shared/codex"
)

// flakyRelease: the next Release fails with an unknown outcome (not applied).
type flakyRelease struct {
	*codexmem.Leaser
	mu       sync.Mutex
	failNext bool
}

func (f *flakyRelease) Release(ctx context.Context, l *codex.Lease, r codex.Release) error {
	f.mu.Lock()
	fail := f.failNext
	f.failNext = false
	f.mu.Unlock()
	if fail {
		return errors.New("release: answer lost (simulated network error)")
	}
	return f.Leaser.Release(ctx, l, r)
}

// Two secrets of one ChatGPT account share one lease key. Holder H refreshes
// "b", stores and promotes, but its release does not land (intent stays,
// current["b"] still names the old base). The next holder is refreshing "a":
// it recovers b's intent (promoting it) but only records current["a"]. A
// later refresh of "b" derives from the stale name and spends a refresh token
// H already spent.
func TestRefresher_RecoveryNamesEverySecret(t *testing.T) {
	for _, tc := range []struct {
		name string
		next string // the account the taking-over holder refreshes
	}{
		{"other secret takes over", "a"},
		{"control: same secret takes over", "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := newRig()
			g.account("a", "acct-x", time.Minute) // inside skew: due
			idB := g.store.Seed("b", g.oauth.Login("acct-x", time.Minute))
			// The lease names b's current version, as after any earlier refresh.
			l, err := g.leases.Acquire(ctx, "chatgpt:acct-x", "setup", time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.leases.Release(ctx, l, codex.Release{Current: map[string]string{"b": idB}}); err != nil {
				t.Fatal(err)
			}

			h := codex.NewRefresher(g.store, &flakyRelease{Leaser: g.leases, failNext: true}, g.oauth, auditOpts()...)
			if _, err := h.AccessToken(ctx, "b", codex.AccessOptions{}); err != nil {
				t.Fatalf("H refresh b: %v", err)
			}
			v2, _ := g.store.Current("b")
			t.Logf("H stored b=%s (old base %s); release lost", v2.ID[:8], idB[:8])

			start := time.Now()
			gr := codex.NewRefresher(g.store, g.leases, g.oauth, auditOpts()...)
			if _, err := gr.AccessToken(ctx, tc.next, codex.AccessOptions{Force: true}); err != nil {
				t.Fatalf("G refresh %s: %v", tc.next, err)
			}
			t.Logf("G (%s) took over after %s", tc.next, time.Since(start).Round(time.Millisecond))
			probe, err := g.leases.Acquire(ctx, "chatgpt:acct-x", "probe", time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("lease after G: current=%v pending=%+v", probe.Current, probe.Pending)
			_ = g.leases.Release(ctx, probe, codex.Release{})

			reusesBefore := g.oauth.Reuses()
			j := codex.NewRefresher(g.store, g.leases, g.oauth, auditOpts()...)
			creds, err := j.AccessToken(ctx, "b", codex.AccessOptions{Force: true}) // the keep-alive's call
			reuses := g.oauth.Reuses() - reusesBefore
			t.Logf("J forced refresh of b: err=%v reuses=%d served=%v", err, reuses, creds.Access != "")
			if reuses != 0 {
				t.Errorf("refresh of b presented a spent refresh token (%d reuse)", reuses)
			}
		})
	}
}

// slowReleaseAnswer applies the release at once but its answer arrives late.
type slowReleaseAnswer struct {
	*codexmem.Leaser
	delay time.Duration
}

func (s *slowReleaseAnswer) Release(ctx context.Context, l *codex.Lease, r codex.Release) error {
	err := s.Leaser.Release(ctx, l, r)
	time.Sleep(s.delay)
	return err
}

// §3.5 says renewals stop before the release is sent. underLease defers
// hb.end(), so a beat that fires while the release is in flight renews the
// released lease (owner and fence unchanged), and the account stays locked
// for a full lease after its holder has gone.
func TestRefresher_ReleaseStopsHeartbeatFirst(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	g.account("a", "acct-hb", time.Minute)
	// lease 7 s (need = 2+2+3): a beat every 2.33 s; the release answer takes 2.6 s.
	h := codex.NewRefresher(g.store, &slowReleaseAnswer{Leaser: g.leases, delay: 2600 * time.Millisecond}, g.oauth, auditOpts()...)
	if _, err := h.AccessToken(ctx, "a", codex.AccessOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.leases.Acquire(ctx, "chatgpt:acct-hb", "probe", time.Second, nil); err != nil {
		var held *codex.LeaseHeldError
		if errors.As(err, &held) {
			t.Errorf("lease held again after its holder released and returned: %v", held)
		} else {
			t.Fatal(err)
		}
	}
}

// A secret whose current version cannot be parsed blocks the very commands
// the CLI tells the operator to run (import / login): Replace reads
// AWSCURRENT before taking the lease and gives up on the parse error.
func TestRefresher_ReplaceOverUnreadableVersion(t *testing.T) {
	ctx := context.Background()
	g := newRig()
	g.store.Seed("c", &codex.AuthFile{Token: codex.Token{Access: "x"}}) // no refresh token
	r := g.refresher()
	_, err := r.Replace(ctx, "c", g.oauth.Login("acct-c", time.Hour), codex.ReplaceOptions{})
	t.Logf("Replace over an unreadable secret: %v", err)
	if err != nil {
		t.Errorf("import/login cannot replace an unreadable secret: %v", err)
	}
}
