package scheduled

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/usage"
)

// issue27Scale divides issue 27's "done when" times so the test fits
// `make test`: a 60 s timeout becomes 12 s, the 25 s reserve 5 s, the
// usage client's 20 s timeout 4 s, and the slow usage endpoint's 4 s 800 ms
// (16 polls in flight for the 7 s before the reserve: at most 140 accounts
// a run, 128 measured with the local stack's own time; at 1:10 that time
// weighs twice as much and left a margin of 14 %). At 1:1 the three runs
// alone take 3 minutes: `make reliability` runs them so, with
// CODEXGATE_ISSUE27_FULL=1.
func issue27Scale() time.Duration {
	if os.Getenv("CODEXGATE_ISSUE27_FULL") == "1" {
		return 1
	}
	return 5
}

// TestIssue27_Moto_ThreeHundredAccountsWithoutListSecrets is issue 27's
// "done when" on the local stack: 300 accounts imported as `codexgate
// import` does (secret and registry item), ListSecrets refused on every
// call, and the usage endpoint slow enough that one run cannot poll every
// account. Proxy containers wired as functions/proxy wires them (app.New,
// then Proxy) serve; the quota cron wired as functions/quota-cron wires it
// covers every account within 3 runs of a 60 s deadline (scaled by
// issue27Scale), no run outlives its deadline, and nothing calls ListSecrets.
func TestIssue27_Moto_ThreeHundredAccountsWithoutListSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("300 imports on the local stack and 36 s (1:1: 3 min) of scheduled runs")
	}
	const n, runs, containers = 300, 3, 3
	scale := issue27Scale()
	deadline, reserve := 60*time.Second/scale, DefaultQuotaReserve/scale
	delay, timeout := 4*time.Second/scale, 20*time.Second/scale
	s := newStack(t, 0)
	importAll(t, s, n)
	faults := awsfault.New(nil)
	faults.Inject("ListSecrets", awsfault.Fault{Action: awsfault.Refuse})
	cfg := awsfault.NoRetries(faults.Wrap(s.AWS))
	ctx := context.Background()

	// Proxy containers serve with ListSecrets failing.
	key, _, err := s.App(&cfg, nil).States.CreateKey(ctx, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	for i := range containers {
		p, err := s.App(&cfg, nil).Proxy()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(p)
		testsupport.WantTurn(t, srv, key, fmt.Sprintf("proxy container %d", i))
		srv.Close()
	}

	// The quota cron, as functions/quota-cron wires it, against a slow usage endpoint.
	s.Sim.InjectFault(openaisim.Fault{Path: "/backend-api/wham/usage", Delay: delay})
	a := s.App(&cfg, nil)
	q := &QuotaCron{
		Accounts: a.Accounts,
		Tokens:   a.Refresher,
		Usage:    &usage.Client{URL: a.Config.UsageURL, HTTP: &http.Client{Transport: a.HTTP.Transport, Timeout: timeout}},
		States:   a.States,
		Metrics:  metrics.New(io.Discard),
		Logger:   quiet,
		Reserve:  reserve,
	}
	polledIn := budgetRuns(t, ctx, q, n, runs, deadline)
	if len(polledIn) != n {
		t.Errorf("%d of %d accounts polled within %d runs", len(polledIn), n, runs)
	}
	if snap, err := s.states.Load(ctx); err != nil || len(snap.Quotas) != n {
		t.Errorf("%d snapshots stored, want %d (err %v)", len(snap.Quotas), n, err)
	}
	if c := faults.Count("ListSecrets"); c != 0 {
		t.Errorf("%d ListSecrets calls", c)
	}
}

// importAll imports n accounts, 8 at a time, as `codexgate import` does.
func importAll(t *testing.T, s *stack, n int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		name := fmt.Sprintf("acct-%03d", i)
		tok := s.Sim.AddAccount(openaisim.Account{ID: "id-" + name, Plan: "plus"})
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.Import(t, name, tok)
		}()
	}
	wg.Wait()
}
