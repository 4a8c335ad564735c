package codex_test

// Integration tests of the refresh protocol against moto (DynamoDB, Secrets
// Manager) and the strict OpenAI simulator. Containers are separate OS
// processes: this test binary re-executed in "container mode", each with its
// own cache and AWS clients, as Lambda containers are.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/codex"
)

func TestMain(m *testing.M) {
	if os.Getenv("CODEXGATE_TEST_CONTAINER") != "" {
		os.Exit(runContainer())
	}
	os.Exit(m.Run())
}

// containerResult is what one container process reports.
type containerResult struct {
	Served int      `json:"served"`
	Errors []string `json:"errors"`
	Tokens []string `json:"tokens"` // distinct access tokens handed out (hashes)
}

// runContainer is one "Lambda container": its own Refresher, N callers.
func runContainer() int {
	ctx := context.Background()
	env := os.Getenv
	c := simworld.Container{KillAt: env("CODEXGATE_TEST_KILL_AT"), Options: []codex.Option{codex.WithTimeouts(testTimeouts())}}
	if env("CODEXGATE_TEST_NO_LEASE") != "" {
		c.Lease = func(l codex.Leaser) codex.Leaser { return alwaysGrant{l} }
	}
	r, err := c.Refresher(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	callers, _ := strconv.Atoi(env("CODEXGATE_TEST_CALLERS"))
	startMs, _ := strconv.ParseInt(env("CODEXGATE_TEST_START_MS"), 10, 64)
	time.Sleep(time.Until(time.UnixMilli(startMs)))

	var mu sync.Mutex
	var res containerResult
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			c, err := r.AccessToken(ctx, env("CODEXGATE_TEST_ACCOUNT"), codex.AccessOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				return
			}
			res.Served++
			if k := openaisim.TokenKey(c.Access); !seen[k] {
				seen[k] = true
				res.Tokens = append(res.Tokens, k)
			}
		})
	}
	wg.Wait()
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// testTimeouts keep leases short so that a test outliving a killed holder
// waits seconds, not the production 45 s.
func testTimeouts() (oauth, persist, lease time.Duration) {
	return 3 * time.Second, 5 * time.Second, 10 * time.Second
}

// alwaysGrant is the negative control: a lease that excludes nothing across
// processes, as an in-process mutex does across Lambda containers.
type alwaysGrant struct{ codex.Leaser }

func (a alwaysGrant) Acquire(ctx context.Context, key, owner string, ttl time.Duration, _ *codex.LeaseHeldError) (*codex.Lease, error) {
	return &codex.Lease{Key: key, Owner: owner, Fence: 1, TTL: ttl, ExpiresAt: time.Now().Add(ttl)}, nil
}
func (alwaysGrant) Renew(context.Context, *codex.Lease, time.Duration) error { return nil }
func (alwaysGrant) SetPending(context.Context, *codex.Lease, codex.Pending, codex.RefreshBudget) error {
	return nil
}
func (alwaysGrant) Release(context.Context, *codex.Lease, codex.Release) error { return nil }

// world is a simworld.World whose containers are this test binary re-run
// as separate processes.
type world struct{ *simworld.World }

func newWorld(t testing.TB, opts openaisim.Options) world { return world{simworld.New(t, opts)} }

// container returns the command for one container process on account.
func (w world) container(account string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), w.ContainerEnv()...),
		"CODEXGATE_TEST_CONTAINER=1",
		"CODEXGATE_TEST_ACCOUNT="+account,
		"CODEXGATE_TEST_CALLERS=1",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// refresher is an in-process container with the tests' short timeouts.
func (w world) refresher(opts ...codex.Option) *codex.Refresher {
	return w.Refresher(nil, append([]codex.Option{codex.WithTimeouts(testTimeouts())}, opts...)...)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRefresher_Contention_SeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const containers, callers = 4, 16
	for _, tc := range []struct {
		name    string
		noLease bool
	}{
		{name: "lease"},
		{name: "negative control without lease", noLease: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, openaisim.Options{})
			w.ImportExpiring(t, "main", "acct-contention")
			start := time.Now().Add(1500 * time.Millisecond).UnixMilli()
			results := make([]containerResult, containers)
			var wg sync.WaitGroup
			for i := range containers {
				env := []string{"CODEXGATE_TEST_CALLERS=" + strconv.Itoa(callers), "CODEXGATE_TEST_START_MS=" + strconv.FormatInt(start, 10)}
				if tc.noLease {
					env = append(env, "CODEXGATE_TEST_NO_LEASE=1")
				}
				cmd := w.container("main", env...)
				wg.Go(func() {
					out, err := cmd.Output()
					if err != nil {
						t.Errorf("container %d: %v", i, err)
						return
					}
					if err := json.Unmarshal(out, &results[i]); err != nil {
						t.Errorf("container %d output %q: %v", i, out, err)
					}
				})
			}
			wg.Wait()
			st := w.Sim.Stats()
			served, tokens := 0, map[string]bool{}
			for _, r := range results {
				served += r.Served
				for _, e := range r.Errors {
					if !tc.noLease {
						t.Errorf("caller error: %s", e)
					}
				}
				for _, k := range r.Tokens {
					tokens[k] = true
				}
			}
			t.Logf("refreshes=%d reuse_rejections=%d served=%d/%d distinct tokens=%d",
				st.Refreshes, st.ReuseRejections, served, containers*callers, len(tokens))
			if tc.noLease {
				if st.ReuseRejections == 0 && st.Refreshes < 2 {
					t.Fatal("negative control: no double refresh without the lease; this test could not fail")
				}
				return
			}
			if st.Refreshes != 1 || st.ReuseRejections != 0 || served != containers*callers || len(tokens) != 1 {
				t.Fatalf("want exactly 1 refresh, 0 reuse, %d served, 1 token", containers*callers)
			}
		})
	}
}

func TestRefresher_CrossPath_ForcedAndScheduled(t *testing.T) {
	w := newWorld(t, openaisim.Options{})
	tok := w.ImportExpiring(t, "main", "acct-cross")
	proxy, cron := w.refresher(), w.refresher()
	var wg sync.WaitGroup
	var proxyErr, cronErr error
	wg.Go(func() {
		_, proxyErr = proxy.AccessToken(context.Background(), "main", codex.AccessOptions{Force: true, Rejected: tok.AccessToken})
	})
	wg.Go(func() { _, cronErr = cron.AccessToken(context.Background(), "main", codex.AccessOptions{}) })
	wg.Wait()
	if proxyErr != nil || cronErr != nil {
		t.Fatalf("proxy: %v, cron: %v", proxyErr, cronErr)
	}
	if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes=%d reuse=%d, want 1/0", st.Refreshes, st.ReuseRejections)
	}
}
