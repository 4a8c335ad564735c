package codex_test

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
)

// A container killed at each step of a refresh leaves a state the next
// caller can use, or reports clearly (reauth_required) when the kill fell in
// the one window no storage can close: after OpenAI rotated the token and
// before any byte of it was stored.
func TestRefresher_KillAtEachStep(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, tc := range []struct {
		step       string
		killAt     string // the AWS call the process dies before sending
		wantReauth bool
		refreshes  int
	}{
		{step: "after acquire", killAt: "GetSecretValue#2", refreshes: 1},
		{step: "after the OAuth response", killAt: "PutSecretValue#1", wantReauth: true, refreshes: 1},
		{step: "between write and promote", killAt: "UpdateSecretVersionStage#1", refreshes: 1},
		{step: "before release", killAt: "UpdateItem#3", refreshes: 1},
	} {
		t.Run(tc.step, func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.ImportExpiring(t, "main", "acct-kill")
			err := w.container("main", "CODEXGATE_TEST_KILL_AT="+tc.killAt).Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("container was not killed at %s: %v", tc.killAt, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := w.refresher().AccessToken(ctx, "main", codex.AccessOptions{})
			st := w.Sim.Stats()
			t.Logf("next caller: err=%v refreshes=%d reuse=%d", err, st.Refreshes, st.ReuseRejections)
			if tc.wantReauth {
				if !errors.Is(err, codex.ErrReauthRequired) {
					t.Fatalf("want a clear reauth_required, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("next caller: %v", err)
			}
			if st.Refreshes != tc.refreshes || st.ReuseRejections != 0 {
				t.Fatalf("refreshes=%d reuse=%d, want %d/0", st.Refreshes, st.ReuseRejections, tc.refreshes)
			}
			cur, err := w.Secrets.LoadCurrent(ctx, "main")
			if err != nil || cur.Auth.Token.Access != c.Access {
				t.Fatalf("served token is not the stored one (err %v)", err)
			}
		})
	}
}

// blockingStore pauses the first Promote until released: a holder stalled
// (GC pause, frozen container) between its durable write and its promote.
// A frozen container renews nothing either: frozenLeaser stops its
// heartbeats for as long.
type blockingStore struct {
	codex.TokenStore
	once    sync.Once
	paused  chan struct{}
	release chan struct{}
}

func (b *blockingStore) Promote(ctx context.Context, account, from, to string) error {
	paused := false
	b.once.Do(func() {
		close(b.paused)
		<-b.release
		paused = true
	})
	if paused {
		// Its own budget ran out while frozen; it still sends the promote.
		ctx = context.Background()
	}
	return b.TokenStore.Promote(ctx, account, from, to)
}

// frozenLeaser holds every renewal while its store is paused.
type frozenLeaser struct {
	codex.Leaser
	store *blockingStore
}

func (f frozenLeaser) Renew(ctx context.Context, l *codex.Lease, ttl time.Duration) error {
	select {
	case <-f.store.paused:
		<-f.store.release
	default:
	}
	return f.Leaser.Renew(ctx, l, ttl)
}

func TestRefresher_Fencing_PausedHolderCannotOverwrite(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	w.ImportExpiring(t, "main", "acct-fence")
	bs := &blockingStore{TokenStore: w.Secrets, paused: make(chan struct{}), release: make(chan struct{})}
	stalled := codex.NewRefresher(bs, frozenLeaser{dynamolease.New(dynamodb.NewFromConfig(w.AWS), w.Table), bs},
		&codex.OAuthClient{TokenURL: w.TokenURL()}, codex.WithTimeouts(testTimeouts()), codex.WithLogger(discard()))

	type result struct {
		c   codex.Credentials
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := stalled.AccessToken(context.Background(), "main", codex.AccessOptions{})
		done <- result{c, err}
	}()
	<-bs.paused
	_, _, leaseTTL := testTimeouts()
	time.Sleep(leaseTTL + 500*time.Millisecond) // the stalled holder's lease runs out

	// A newer holder takes over: it recovers the stalled holder's written
	// version, then the upstream rejects that token and it refreshes again.
	fresh := w.refresher()
	ctx := context.Background()
	recovered, err := fresh.AccessToken(ctx, "main", codex.AccessOptions{})
	if err != nil {
		t.Fatalf("newer holder: %v", err)
	}
	newest, err := fresh.AccessToken(ctx, "main", codex.AccessOptions{Force: true, Rejected: recovered.Access})
	if err != nil {
		t.Fatalf("newer holder refresh: %v", err)
	}

	close(bs.release) // the stalled holder wakes and tries to promote over its old base
	res := <-done
	cur, err := w.Secrets.LoadCurrent(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Auth.Token.Access != newest.Access {
		t.Fatal("the stalled holder overwrote the newer token")
	}
	if res.err == nil && res.c.Access != newest.Access {
		t.Fatal("the stalled holder handed out a token that is not current")
	}
	st := w.Sim.Stats()
	if st.Refreshes != 2 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes=%d reuse=%d, want 2/0", st.Refreshes, st.ReuseRejections)
	}
	// The newest token still works: its refresh token is the live one.
	if _, err := w.refresher().AccessToken(ctx, "main", codex.AccessOptions{Force: true, Rejected: newest.Access}); err != nil {
		t.Fatalf("stored token is not usable: %v", err)
	}
}

// Secrets Manager and DynamoDB errors, timeouts and lost answers at each
// step: the refresh still ends with exactly one rotation, stored and current,
// or fails without losing the stored token.
func TestRefresher_AWSFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		op    string
		fault awsfault.Fault
		after int // calls of op that pass first
	}{
		{name: "acquire answer lost", op: "UpdateItem", fault: awsfault.Fault{Action: awsfault.Drop, Times: 1}},
		{name: "re-read under lease refused", op: "GetSecretValue", after: 1, fault: awsfault.Fault{Action: awsfault.Refuse, Times: 1}},
		{name: "pending write answer lost", op: "PutSecretValue", fault: awsfault.Fault{Action: awsfault.Drop, Times: 1}},
		{name: "pending write 500s", op: "PutSecretValue", fault: awsfault.Fault{Action: awsfault.Respond, Status: 500, Times: 2}},
		{name: "promote refused", op: "UpdateSecretVersionStage", fault: awsfault.Fault{Action: awsfault.Refuse, Times: 2}},
		{name: "promote answer lost", op: "UpdateSecretVersionStage", fault: awsfault.Fault{Action: awsfault.Drop, Times: 1}},
		{name: "promote slow", op: "UpdateSecretVersionStage", fault: awsfault.Fault{Delay: 500 * time.Millisecond, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.ImportExpiring(t, "main", "acct-faults")
			tr := awsfault.New(nil)
			if tc.after > 0 {
				tr.Inject(tc.op, awsfault.Fault{Action: awsfault.Pass, Times: tc.after})
			}
			tr.Inject(tc.op, tc.fault)
			cfg := awsfault.NoRetries(tr.Wrap(w.AWS))
			r := w.Refresher(&cfg, codex.WithTimeouts(testTimeouts()))
			ctx := context.Background()
			c, err := r.AccessToken(ctx, "main", codex.AccessOptions{})
			if err != nil {
				// A failed read may fail the call, but must not have spent the token.
				if st := w.Sim.Stats(); st.Refreshes != 0 {
					t.Fatalf("failed after a rotation: %v", err)
				}
				c, err = r.AccessToken(ctx, "main", codex.AccessOptions{})
			}
			if err != nil {
				t.Fatalf("second try: %v", err)
			}
			st := w.Sim.Stats()
			if st.Refreshes != 1 || st.ReuseRejections != 0 {
				t.Fatalf("refreshes=%d reuse=%d, want 1/0", st.Refreshes, st.ReuseRejections)
			}
			cur, err := w.Secrets.LoadCurrent(ctx, "main")
			if err != nil || cur.Auth.Token.Access != c.Access {
				t.Fatalf("served token is not the stored one (err %v)", err)
			}
		})
	}
}
