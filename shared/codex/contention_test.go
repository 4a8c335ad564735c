package codex_test

// Integration tests of the refresh protocol against moto (DynamoDB, Secrets
// Manager) and the strict OpenAI simulator. Containers are separate OS
// processes: this test binary re-executed in "container mode", each with its
// own cache and AWS clients, as Lambda containers are.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
	"github.com/codexgate/codexgate/shared/codex/openaisim"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
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
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if at := env("CODEXGATE_TEST_KILL_AT"); at != "" {
		cfg = killAt(cfg, at)
	}
	var leaser codex.Leaser = dynamolease.New(dynamodb.NewFromConfig(cfg), env("CODEXGATE_TABLE"))
	if env("CODEXGATE_TEST_NO_LEASE") != "" {
		leaser = alwaysGrant{leaser}
	}
	r := codex.NewRefresher(
		secretstore.New(secretsmanager.NewFromConfig(cfg), env("CODEXGATE_SECRET_PREFIX")),
		leaser,
		&codex.OAuthClient{TokenURL: env("CODEXGATE_TOKEN_URL")},
		codex.WithLogger(discard()),
		codex.WithTimeouts(testTimeouts()),
	)
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

// killAt makes the process die, like a Lambda container killed mid-step,
// just before it sends the n-th call of an AWS operation ("UpdateItem#3").
func killAt(cfg aws.Config, at string) aws.Config {
	op, nth, _ := strings.Cut(at, "#")
	n, _ := strconv.Atoi(nth)
	tr := awsfault.New(nil)
	var mu sync.Mutex
	seen := 0
	tr.Inject(op, awsfault.Fault{Hook: func(string) {
		mu.Lock()
		seen++
		hit := seen == n
		mu.Unlock()
		if hit {
			os.Exit(3)
		}
	}})
	return tr.Wrap(cfg)
}

// alwaysGrant is the negative control: a lease that excludes nothing across
// processes, as an in-process mutex does across Lambda containers.
type alwaysGrant struct{ codex.Leaser }

func (a alwaysGrant) Acquire(ctx context.Context, key, owner string, ttl time.Duration) (*codex.Lease, error) {
	return &codex.Lease{Key: key, Owner: owner, Fence: 1, ExpiresAt: time.Now().Add(ttl)}, nil
}
func (alwaysGrant) SetPending(context.Context, *codex.Lease, codex.Pending) error { return nil }
func (alwaysGrant) Release(context.Context, *codex.Lease, codex.Release) error    { return nil }

// world is one isolated setup: a table, a secret prefix, a simulator.
type world struct {
	table, prefix string
	sim           *openaisim.Sim
	url           string
	secrets       *secretstore.Store
	ddb           *dynamodb.Client
}

func newWorld(t testing.TB, opts openaisim.Options) *world {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	w := &world{table: testsupport.NewTable(t, cfg), prefix: testsupport.SecretPrefix(t), sim: openaisim.New(opts)}
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	w.ddb = dynamodb.NewFromConfig(cfg)
	w.secrets = secretstore.New(secretsmanager.NewFromConfig(cfg), w.prefix)
	return w
}

// importExpiring stores an account whose access token expires within the
// refresh skew: every caller must refresh (or adopt a refresh).
func (w *world) importExpiring(t *testing.T, account, id string) openaisim.Tokens {
	t.Helper()
	w.sim.Advance(-58 * time.Minute) // mint with 2 min left on the default 1 h TTL
	tok := w.sim.AddAccount(openaisim.Account{ID: id, Plan: "plus"})
	w.sim.Advance(58 * time.Minute)
	a, err := codex.ParseAuthFile(account, w.sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.secrets.Put(context.Background(), account, a); err != nil {
		t.Fatal(err)
	}
	return tok
}

// container returns the command for one container process on account.
func (w *world) container(account string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"CODEXGATE_TEST_CONTAINER=1",
		"CODEXGATE_TABLE="+w.table,
		"CODEXGATE_SECRET_PREFIX="+w.prefix,
		"CODEXGATE_TOKEN_URL="+w.url+"/oauth/token",
		"CODEXGATE_TEST_ACCOUNT="+account,
		"CODEXGATE_TEST_CALLERS=1",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func (w *world) refresher(opts ...codex.Option) *codex.Refresher {
	base := []codex.Option{codex.WithLogger(discard()), codex.WithTimeouts(testTimeouts())}
	return codex.NewRefresher(w.secrets, w.leaser(), w.oauth(), append(base, opts...)...)
}

func (w *world) leaser() *dynamolease.Leaser { return dynamolease.New(w.ddb, w.table) }

func (w *world) oauth() *codex.OAuthClient {
	return &codex.OAuthClient{TokenURL: w.url + "/oauth/token"}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

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
			w.importExpiring(t, "main", "acct-contention")
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
			st := w.sim.Stats()
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
	tok := w.importExpiring(t, "main", "acct-cross")
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
	if st := w.sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Fatalf("refreshes=%d reuse=%d, want 1/0", st.Refreshes, st.ReuseRejections)
	}
}
