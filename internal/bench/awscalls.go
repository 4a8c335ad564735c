package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/proxy/awsstores"
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/wire/models"
)

// AWSCalls are the AWS calls the proxy makes, counted at the SDK's HTTP
// layer (retries included).
type AWSCalls struct {
	WarmRequests int
	WarmCalls    int
	WarmByOp     map[string]int
	// WarmBeforeFirstByte are the warm calls made between sending a
	// request and its response headers (the answer's first byte); the
	// others came after it (the per-key usage write).
	WarmBeforeFirstByte int
	Refreshes           int // forced by an upstream 401 (sim ExpireAccessTokens)
	RefreshCalls        int // for all Refreshes together, the replayed request included
	RefreshByOp         map[string]int
	// RefreshReadsByVersion and RefreshReadsByStage split the refreshes'
	// GetSecretValue calls: by VersionId (the version the lease item names
	// as current) or by AWSCURRENT (when the lease names none yet: the
	// first refresh after the account was stored outside the lease).
	RefreshReadsByVersion, RefreshReadsByStage int
	SimRefreshes                               int
	SimReuse                                   int
	// Long are refreshes whose token endpoint answered late, with a
	// shortened lease (CountLongRefreshCalls); LongErr why they are
	// missing or incomplete.
	Long    []LongRefresh
	LongErr error

	// Controlled* are the warm figures again for a key with every routing
	// control set (ControlledKey): allow-list, account binding and cap.
	ControlledRequests, ControlledCalls, ControlledBeforeFirstByte int
	ControlledByOp                                                 map[string]int
}

// LongRefresh is one refresh whose OAuth answer took longer than a third of
// the lease, the heartbeat's period.
type LongRefresh struct {
	Thirds            int // whole lease thirds the OAuth answer took
	Lease, OAuthDelay time.Duration
	Calls             int
	ByOp              map[string]int
	Renewals          int // UpdateItem calls beyond a normal refresh's (normalRefreshUpdates)
	SimRefreshes      int
	SimReuse          int
}

// secretReads tells GetSecretValue by VersionId from by stage; it reads the
// request body and sends an identical copy on.
type secretReads struct {
	base http.RoundTripper

	mu                 sync.Mutex
	byVersion, byStage int
}

func (s *secretReads) RoundTrip(req *http.Request) (*http.Response, error) {
	if awsfault.Operation(req) != "GetSecretValue" || req.Body == nil {
		return s.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read GetSecretValue body: %w", err)
	}
	var in struct{ VersionId string }
	_ = json.Unmarshal(body, &in) // an unreadable body counts as by stage; the server judges it
	s.mu.Lock()
	if in.VersionId != "" {
		s.byVersion++
	} else {
		s.byStage++
	}
	s.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return s.base.RoundTrip(out)
}

func (s *secretReads) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byVersion, s.byStage = 0, 0
}

// countedProxy is the proxy wired exactly as functions/proxy does (app.New
// + proxy.New + awsstores), with every AWS call going through a counting
// transport, on one account of its own simulator.
type countedProxy struct {
	sim   *openaisim.Sim
	tr    *awsfault.Transport
	reads *secretReads
	id    string
	ids   map[string]string // simulator account id by account name
	do    func(context.Context) error
	// doControlled is do with a key that has every routing control set.
	doControlled func(context.Context) error
	close        func()
	first        *firstByte
	// usageWrites counts the proxy's per-key usage writes (one UpdateItem
	// each, after the answer), so the refresh figures can leave them out.
	usageWrites atomic.Int64
}

// countedUsage counts the usage records it passes on.
type countedUsage struct {
	next metering.Recorder
	n    *atomic.Int64
}

func (c countedUsage) RecordUsage(ctx context.Context, u metering.Record) error {
	c.n.Add(1)
	return c.next.RecordUsage(ctx, u)
}

// withoutUsageWrites takes the usage writes out of counts by operation.
func (cp *countedProxy) withoutUsageWrites(byOp map[string]int) (map[string]int, int) {
	byOp = maps.Clone(byOp)
	n := int(cp.usageWrites.Load())
	byOp["UpdateItem"] -= n
	if byOp["UpdateItem"] == 0 {
		delete(byOp, "UpdateItem")
	}
	total := 0
	for _, v := range byOp {
		total += v
	}
	return byOp, total
}

// firstByte wraps the proxy's handler to count, on the server side, the
// AWS calls each request makes before its first byte (status line and
// headers) is written: the client's view would blur it, since a short
// simulated answer can be complete, usage write included, before the
// client's goroutine returns from Do.
type firstByte struct {
	tr     *awsfault.Transport
	next   http.Handler
	mu     sync.Mutex
	before int // summed over requests
}

func (f *firstByte) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fw := &firstByteWriter{ResponseWriter: w, start: f.tr.Total(), tr: f.tr, n: -1}
	f.next.ServeHTTP(fw, r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if fw.n >= 0 {
		f.before += fw.n
	}
}

func (f *firstByte) take() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.before
	f.before = 0
	return n
}

type firstByteWriter struct {
	http.ResponseWriter
	tr    *awsfault.Transport
	start int
	n     int // calls before the first byte; -1 until it is written
}

func (w *firstByteWriter) mark() {
	if w.n < 0 {
		w.n = w.tr.Total() - w.start
	}
}

func (w *firstByteWriter) WriteHeader(code int) { w.mark(); w.ResponseWriter.WriteHeader(code) }
func (w *firstByteWriter) Write(b []byte) (int, error) {
	w.mark()
	return w.ResponseWriter.Write(b)
}
func (w *firstByteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func newCountedProxy(ctx context.Context, cfg aws.Config, table, label string, opts ...codex.Option) (*countedProxy, error) {
	return newCountedProxyWith(ctx, cfg, table, label, routingSetup{}, opts...)
}

// routingSetup are the routing controls a countedProxy runs with (zero:
// none): accounts paused besides "main", a strategy, model aliases, and
// the model name its requests send.
type routingSetup struct {
	paused   []string
	strategy string
	aliases  string
	model    string
}

func newCountedProxyWith(ctx context.Context, cfg aws.Config, table, label string, rs routingSetup, opts ...codex.Option) (*countedProxy, error) {
	cp := &countedProxy{sim: openaisim.New(openaisim.Options{})}
	simSrv := httptest.NewServer(cp.sim)
	var cleanups []func()
	cp.close = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, simSrv.Close)
	cp.reads = &secretReads{base: http.DefaultTransport.(*http.Transport).Clone()}
	cp.tr = awsfault.New(cp.reads)
	counted := cp.tr.Wrap(cfg)
	ten, err := NewTenant(ctx, cfg, table, label, append([]string{"main"}, rs.paused...), func(id string) ([]byte, error) {
		return cp.sim.AuthJSON(cp.sim.AddAccount(openaisim.Account{ID: id})), nil
	})
	if err != nil {
		cp.close()
		return nil, err
	}
	for _, n := range rs.paused {
		if err := statestore.New(dynamodb.NewFromConfig(cfg), table).SetPaused(ctx, n, true); err != nil {
			cp.close()
			return nil, err
		}
	}
	names, err := models.ParseAliases(rs.aliases)
	if err != nil {
		cp.close()
		return nil, err
	}
	cleanups = append(cleanups, func() { ten.Cleanup(context.WithoutCancel(ctx), cfg) })
	cp.id, cp.ids = ten.IDs["main"], ten.IDs
	log := slog.New(slog.DiscardHandler)
	a, err := app.New(ctx, config.Config{
		Table: table, SecretPrefix: ten.Prefix,
		UpstreamURL: simSrv.URL + "/backend-api/codex", TokenURL: simSrv.URL + "/oauth/token", UsageURL: simSrv.URL + "/backend-api/wham/usage",
	}, app.Options{AWS: &counted, Logger: log, RefresherOptions: opts})
	if err != nil {
		cp.close()
		return nil, err
	}
	shared := &awsstores.SharedLoad{StateAPI: a.States}
	p, err := proxy.New(proxy.Config{
		UpstreamURL: a.Config.UpstreamURL, Tokens: a.Refresher,
		Keys: awsstores.Keys{Store: a.States}, Accounts: awsstores.Accounts{Load: shared, Registry: a.Accounts}, States: awsstores.States{Store: shared},
		Usage:     countedUsage{next: awsstores.Usage{Store: a.States, Retention: a.Config.UsageRetention}, n: &cp.usageWrites},
		Budgets:   awsstores.Budgets{Store: a.States},
		Transport: a.HTTP.Transport, Logger: log,
		Strategy: rs.strategy, ModelNames: names,
	})
	if err != nil {
		cp.close()
		return nil, err
	}
	cp.first = &firstByte{tr: cp.tr, next: p}
	srv := httptest.NewServer(cp.first)
	cleanups = append(cleanups, srv.Close)
	ctlKey, err := ControlledKey(ctx, a.States, ten, "bench-"+label+"-controlled")
	if err != nil {
		cp.close()
		return nil, err
	}
	waited := func(do func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			err := do(ctx)
			// Wait writes the request's usage, as the end of every Lambda
			// invocation does (lambdaproxy.WaitAfter), so that it counts with
			// its own request and not the next one.
			if werr := p.Wait(ctx); err == nil {
				err = werr
			}
			return err
		}
	}
	serve := ServeTarget(client(), srv.URL, ten.Key).Do
	if rs.model != "" {
		body := strings.Replace(RequestBody, `"model":"gpt-5-codex"`, `"model":"`+rs.model+`"`, 1)
		c := client()
		serve = func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/responses", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+ten.Key)
			req.Header.Set("Content-Type", "application/json")
			return doSSE(c, req)
		}
	}
	cp.do = waited(serve)
	cp.doControlled = waited(ServeTarget(client(), srv.URL, ctlKey).Do)
	for _, do := range []func(context.Context) error{cp.do, cp.doControlled} {
		for range 5 { // cold: list accounts, load states, verify the key, read the secret
			if err := do(ctx); err != nil {
				cp.close()
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	return cp, nil
}

// reset zeroes the AWS and simulator counters.
func (cp *countedProxy) reset() {
	cp.sim.ResetStats()
	cp.tr.Reset()
	cp.reads.reset()
	cp.first.take()
	cp.usageWrites.Store(0)
}

// refresh makes the next request meet a 401 (the simulator invalidates the
// access token), so the proxy force-refreshes through the lease and replays.
func (cp *countedProxy) refresh(ctx context.Context) error {
	if err := cp.sim.ExpireAccessTokens(cp.id); err != nil {
		return err
	}
	if err := cp.do(ctx); err != nil {
		return fmt.Errorf("request after expiry: %w", err)
	}
	return nil
}

// CountAWSCalls counts the proxy's AWS calls per warm request and per
// refresh (a 401, a forced refresh, the replay).
func CountAWSCalls(ctx context.Context, cfg aws.Config, table string, warm, refreshes int) (*AWSCalls, error) {
	cp, err := newCountedProxy(ctx, cfg, table, "calls")
	if err != nil {
		return nil, err
	}
	defer cp.close()
	out := &AWSCalls{WarmRequests: warm, Refreshes: refreshes}
	cp.reset()
	if s := Run(ctx, 1, warm, cp.do); s.Errors > 0 {
		return nil, fmt.Errorf("warm requests: %d failed: %w", s.Errors, s.FirstErr)
	}
	out.WarmCalls, out.WarmByOp = cp.tr.Total(), cp.tr.Counts()
	out.WarmBeforeFirstByte = cp.first.take()

	cp.reset()
	out.ControlledRequests = warm
	if s := Run(ctx, 1, warm, cp.doControlled); s.Errors > 0 {
		return nil, fmt.Errorf("warm requests with a controlled key: %d failed: %w", s.Errors, s.FirstErr)
	}
	out.ControlledCalls, out.ControlledByOp = cp.tr.Total(), cp.tr.Counts()
	out.ControlledBeforeFirstByte = cp.first.take()

	cp.reset()
	for range refreshes {
		if err := cp.refresh(ctx); err != nil {
			return nil, err
		}
	}
	// The replayed requests' usage writes are not the refresh's.
	out.RefreshByOp, out.RefreshCalls = cp.withoutUsageWrites(cp.tr.Counts())
	out.RefreshReadsByVersion, out.RefreshReadsByStage = cp.reads.byVersion, cp.reads.byStage
	st := cp.sim.Stats()
	out.SimRefreshes, out.SimReuse = st.Refreshes, st.ReuseRejections
	return out, nil
}

// RoutingCalls are the AWS calls of warm requests with the routing
// controls on: an account paused beside the one that serves, fill-first
// routing, an alias table, and a request for an effort-suffixed model.
type RoutingCalls struct {
	WarmRequests, WarmCalls, WarmBeforeFirstByte int
	WarmByOp                                     map[string]int
	// UpstreamModel and UpstreamEffort are what the simulator received
	// last; PausedServed counts the requests the paused account served.
	UpstreamModel, UpstreamEffort string
	PausedServed                  int
}

// CountRoutingCalls counts the proxy's AWS calls per warm request with the
// routing controls on (RoutingCalls).
func CountRoutingCalls(ctx context.Context, cfg aws.Config, table string, warm int) (*RoutingCalls, error) {
	cp, err := newCountedProxyWith(ctx, cfg, table, "routing", routingSetup{
		paused: []string{"bench-paused"}, strategy: proxy.StrategyFillFirst,
		aliases: "quick=gpt-5-codex:low", model: "gpt-5-codex-high",
	})
	if err != nil {
		return nil, err
	}
	defer cp.close()
	cp.reset()
	if s := Run(ctx, 1, warm, cp.do); s.Errors > 0 {
		return nil, fmt.Errorf("warm requests: %d failed: %w", s.Errors, s.FirstErr)
	}
	st := cp.sim.Stats()
	out := &RoutingCalls{WarmRequests: warm, WarmCalls: cp.tr.Total(), WarmByOp: cp.tr.Counts(), WarmBeforeFirstByte: cp.first.take(),
		UpstreamModel: st.LastModel, UpstreamEffort: st.LastEffort, PausedServed: st.Accounts[cp.ids["bench-paused"]].ResponsesOK}
	return out, nil
}

// Long refreshes run with a shortened lease so that the figures take seconds:
// OAuth budget 20 s, persist 1 s, so the lease is 24 s (the least the
// refresher allows: OAuth + persist + 3 s) and a holder renews it every 8 s
// while its refresh is in flight.
const (
	longOAuth   = 20 * time.Second
	longPersist = time.Second
	longLease   = 24 * time.Second
)

// LongThirds are the extra lease thirds make bench lets OAuth run: 0 (a
// normal refresh under the shortened lease), 1 and 2.
var LongThirds = []int{0, 1, 2}

// CountLongRefreshCalls counts the proxy's AWS calls for refreshes whose
// token endpoint answers after (k+¼) thirds of the lease, one for each k in
// thirds: a holder renews its lease (one conditional UpdateItem) every
// third of the lease while a refresh is in flight, so each refresh costs k
// renewals beyond a normal one.
func CountLongRefreshCalls(ctx context.Context, cfg aws.Config, table string, thirds []int) ([]LongRefresh, error) {
	cp, err := newCountedProxy(ctx, cfg, table, "long", codex.WithTimeouts(longOAuth, longPersist, longLease))
	if err != nil {
		return nil, err
	}
	defer cp.close()
	var out []LongRefresh
	for _, k := range thirds {
		delay := time.Duration(k)*longLease/3 + longLease/12
		if delay >= longOAuth {
			return out, fmt.Errorf("a %d-third OAuth delay (%s) does not fit the %s OAuth budget", k, delay, longOAuth)
		}
		cp.reset()
		cp.sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: delay, Count: 1})
		if err := cp.refresh(ctx); err != nil {
			return out, fmt.Errorf("refresh with OAuth delayed %s: %w", delay, err)
		}
		byOp, calls := cp.withoutUsageWrites(cp.tr.Counts())
		st := cp.sim.Stats()
		out = append(out, LongRefresh{Thirds: k, Lease: longLease, OAuthDelay: delay, Calls: calls, ByOp: byOp,
			Renewals: byOp["UpdateItem"] - normalRefreshUpdates, SimRefreshes: st.Refreshes, SimReuse: st.ReuseRejections})
	}
	return out, nil
}

// normalRefreshUpdates is the UpdateItem calls of a refresh that needs no
// renewal: acquire, intent, release, and the state item's conditional lift
// of a 401 cooldown set against an older version.
const normalRefreshUpdates = 4
