package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/statestore"
)

// EnvelopeAccounts and EnvelopeContainers are the N accounts and K
// containers the envelope section runs, every N with every K.
var (
	EnvelopeAccounts   = []int{100, 1000}
	EnvelopeContainers = []int{1, 4, 16}
)

// The envelope's phases: envelopeWarm requests per container after
// envelopeColdRequests to warm it; then a window longer than the proxy's
// 60 s reload of the accounts' states, each container sending a request
// every envelopeEvery.
const (
	envelopeColdRequests = 3
	envelopeWarm         = 20
	envelopeWindow       = 70 * time.Second
	envelopeEvery        = time.Second
)

// EnvelopeRow is one (N, K): AWS calls of K in-process proxy containers
// over a deployment of N accounts, counted at the SDK's HTTP layer.
type EnvelopeRow struct {
	Accounts, Containers int
	// Warm: envelopeWarm requests per container, after the cold ones.
	WarmRequests, WarmCalls int
	WarmByOp                map[string]int
	// Window: a request every envelopeEvery per container for Window.
	Window                      time.Duration
	WindowRequests, WindowCalls int
	WindowByOp                  map[string]int
	// HotPartition is the partition key written most in the window, with
	// its writes.
	HotPartition string
	HotWrites    int
	// Refresh: every account's access token invalidated, then one request
	// per container; Refreshes are the token refreshes the simulator saw.
	RefreshRequests, RefreshCalls, Refreshes int
	RefreshByOp                              map[string]int
	Err                                      error
}

// Envelope is the envelope section's result.
type Envelope struct {
	Rows  []*EnvelopeRow
	Setup time.Duration // creating the accounts of every row
}

// envGroup is one row's world: its own table (the account registry is
// one partition per table), simulator, accounts and K containers whose
// AWS calls go through one counting transport.
type envGroup struct {
	row     *EnvelopeRow
	sim     *openaisim.Sim
	ids     []string
	tr      *awsfault.Transport
	parts   *partitionWrites
	do      []func(context.Context) error
	cleanup []func()
}

// RunEnvelope runs every (N, K) of EnvelopeAccounts × EnvelopeContainers on
// the local stack, the rows side by side in each phase.
func RunEnvelope(ctx context.Context, cfg aws.Config) *Envelope {
	start := time.Now()
	var groups []*envGroup
	defer func() {
		for _, g := range groups {
			g.close()
		}
	}()
	for _, n := range EnvelopeAccounts {
		for _, k := range EnvelopeContainers {
			groups = append(groups, &envGroup{row: &EnvelopeRow{Accounts: n, Containers: k}})
		}
	}
	each := func(f func(*envGroup) error) {
		var wg sync.WaitGroup
		for _, g := range groups {
			if g.row.Err != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.row.Err = f(g)
			}()
		}
		wg.Wait()
	}
	each(func(g *envGroup) error { return g.setup(ctx, cfg) })
	env := &Envelope{Setup: time.Since(start)}
	each(func(g *envGroup) error { return g.warm(ctx) })
	each(func(g *envGroup) error { return g.window(ctx) })
	each(func(g *envGroup) error { return g.refresh(ctx) })
	for _, g := range groups {
		env.Rows = append(env.Rows, g.row)
	}
	return env
}

func (g *envGroup) close() {
	for i := len(g.cleanup) - 1; i >= 0; i-- {
		g.cleanup[i]()
	}
}

// setup creates the table, N accounts (secret and registry item, as
// `codexgate import` does, 8 at a time), a client key and K containers
// wired as functions/proxy wires them (app.New, then Proxy).
func (g *envGroup) setup(ctx context.Context, cfg aws.Config) error {
	n, k := g.row.Accounts, g.row.Containers
	run := randHex(4)
	table := fmt.Sprintf("codexgate-envelope-%d-%d-%s", n, k, run)
	ddb := dynamodb.NewFromConfig(cfg)
	if _, err := ddb.CreateTable(ctx, testsupport.CreateTableInput(table)); err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	g.cleanup = append(g.cleanup, func() {
		ddb.DeleteTable(context.WithoutCancel(ctx), &dynamodb.DeleteTableInput{TableName: aws.String(table)}) //nolint:errcheck // best effort; the stack is throwaway
	})
	g.sim = openaisim.New(openaisim.Options{})
	simSrv := httptest.NewServer(g.sim)
	g.cleanup = append(g.cleanup, simSrv.Close)
	prefix := "codexgate-bench/envelope-" + run + "/"
	secrets := secretstore.New(secretsmanager.NewFromConfig(cfg), prefix)
	states := statestore.New(ddb, table)
	if err := g.seed(ctx, secrets, states, n); err != nil {
		return err
	}
	key, _, err := states.CreateKey(ctx, "bench-envelope-"+run)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	g.parts = &partitionWrites{base: http.DefaultTransport.(*http.Transport).Clone()}
	g.tr = awsfault.New(g.parts)
	counted := g.tr.Wrap(cfg)
	for i := range k {
		a, err := app.New(ctx, config.Config{
			Table: table, SecretPrefix: prefix,
			UpstreamURL: simSrv.URL + "/backend-api/codex", TokenURL: simSrv.URL + "/oauth/token", UsageURL: simSrv.URL + "/backend-api/wham/usage",
		}, app.Options{AWS: &counted, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return fmt.Errorf("container %d: %w", i, err)
		}
		p, err := a.Proxy()
		if err != nil {
			return fmt.Errorf("container %d: %w", i, err)
		}
		srv := httptest.NewServer(p)
		g.cleanup = append(g.cleanup, srv.Close)
		serve := ServeTarget(client(), srv.URL, key).Do
		g.do = append(g.do, func(ctx context.Context) error {
			// The usage write finishes before the invocation ends, as
			// lambdaproxy.WaitAfter makes it.
			return errors.Join(serve(ctx), a.Refresher.Wait(ctx), p.Wait(ctx))
		})
	}
	return nil
}

// seed stores n simulator accounts and registers them, 8 at a time.
func (g *envGroup) seed(ctx context.Context, secrets *secretstore.Store, states *statestore.Store, n int) error {
	g.ids = make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("acct-%04d", i)
		g.ids[i] = "id-" + name
		a, err := codex.ParseAuthFile(name, g.sim.AuthJSON(g.sim.AddAccount(openaisim.Account{ID: g.ids[i], Plan: "plus"})))
		if err != nil {
			return fmt.Errorf("parse auth %s: %w", name, err)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := secrets.Create(ctx, name, codex.NewVersionID(), a); err != nil {
				errs[i] = fmt.Errorf("store account %s: %w", name, err)
				return
			}
			if err := states.Register(ctx, name); err != nil {
				errs[i] = fmt.Errorf("register account %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// all runs f on every container at once and joins their errors.
func (g *envGroup) all(f func(do func(context.Context) error) error) error {
	errs := make([]error, len(g.do))
	var wg sync.WaitGroup
	for i, do := range g.do {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(do)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (g *envGroup) reset() {
	g.tr.Reset()
	g.parts.reset()
	g.sim.ResetStats()
}

func times(ctx context.Context, do func(context.Context) error, n int) error {
	for range n {
		if err := do(ctx); err != nil {
			return err
		}
	}
	return nil
}

// warm sends the cold requests, then counts envelopeWarm per container. A
// cold request may find the local stack too slow to load the pool in time
// (503; all rows start at once): it is sent again, up to 5 times a second
// apart; cold requests are not counted.
func (g *envGroup) warm(ctx context.Context) error {
	cold := func(do func(context.Context) error) error {
		var err error
		for range 5 {
			if err = times(ctx, do, envelopeColdRequests); err == nil {
				return nil
			}
			time.Sleep(time.Second)
		}
		return err
	}
	if err := g.all(cold); err != nil {
		return fmt.Errorf("cold requests: %w", err)
	}
	g.reset()
	if err := g.all(func(do func(context.Context) error) error { return times(ctx, do, envelopeWarm) }); err != nil {
		return fmt.Errorf("warm requests: %w", err)
	}
	g.row.WarmRequests, g.row.WarmCalls, g.row.WarmByOp = envelopeWarm*len(g.do), g.tr.Total(), g.tr.Counts()
	return nil
}

// window sends a request every envelopeEvery per container for
// envelopeWindow.
func (g *envGroup) window(ctx context.Context) error {
	g.reset()
	start := time.Now()
	var mu sync.Mutex
	sent := 0
	err := g.all(func(do func(context.Context) error) error {
		tick := time.NewTicker(envelopeEvery)
		defer tick.Stop()
		for time.Since(start) < envelopeWindow {
			if err := do(ctx); err != nil {
				return err
			}
			mu.Lock()
			sent++
			mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("window: %w", err)
	}
	r := g.row
	r.Window, r.WindowRequests, r.WindowCalls, r.WindowByOp = time.Since(start), sent, g.tr.Total(), g.tr.Counts()
	r.HotPartition, r.HotWrites = g.parts.hottest()
	return nil
}

// refresh invalidates every account's access token, then sends one
// request per container, one container after the other.
func (g *envGroup) refresh(ctx context.Context) error {
	g.reset()
	for _, id := range g.ids {
		if err := g.sim.ExpireAccessTokens(id); err != nil {
			return err
		}
	}
	for i, do := range g.do {
		if err := do(ctx); err != nil {
			return fmt.Errorf("request after expiry, container %d: %w", i, err)
		}
	}
	r := g.row
	r.RefreshRequests, r.RefreshCalls, r.RefreshByOp = len(g.do), g.tr.Total(), g.tr.Counts()
	r.Refreshes = g.sim.Stats().Refreshes
	return nil
}
