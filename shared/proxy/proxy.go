package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/codexgate/codexgate/shared/metering"
)

// Proxy is the codexgate proxy: an http.Handler serving the routes in
// route.go from the account pool. It is safe for concurrent use; one Proxy
// lives as long as its process (Lambda container or `codexgate serve`), and
// its caches (keys, pool, affinity) are that process's.
type Proxy struct {
	cfg      Config
	upstream *url.URL
	keys     *keyCache
	pool     *pool
	hold     holdTiming // keep-alive of non-streaming answers (keepalive.go)
	// pingEvery is the silence after which a stream with a ping (the
	// Messages front) gets one (stream.go).
	pingEvery time.Duration
	meter     meter      // usage sums and key budgets (usage.go)
	logs      requestLog // request log lines, written after their answers (requestlog.go)
	inflight  inflight   // requests in progress per key, for their concurrency caps (keyctl.go)
}

var _ http.Handler = (*Proxy)(nil)

// New validates cfg, fills in defaults and returns a Proxy. It makes no
// network call: the pool loads on the first request.
func New(cfg Config) (*Proxy, error) {
	u, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		cfg:       cfg,
		upstream:  u,
		keys:      newKeyCache(cfg.Keys, cfg.KeyCacheTTL, cfg.KeyMaxStale, cfg.Clock),
		pool:      newPool(&cfg),
		hold:      defaultHold,
		pingEvery: defaultPingEvery,
		meter: metering.New(metering.Options{Recorder: cfg.Usage, Budgets: cfg.Budgets, BudgetRefresh: cfg.BudgetRefresh,
			Clock: cfg.Clock, Logger: cfg.Logger}),
	}
	p.logs.log = cfg.Logger
	return p, nil
}

// Warm loads the account pool now instead of on the first request, e.g. in
// a Lambda's init phase, and reads the access token of the account the first
// request will get (warm.go). A failure is returned and retried on demand
// later.
func (p *Proxy) Warm(ctx context.Context) error {
	if err := p.pool.ensure(ctx); err != nil {
		return err
	}
	p.prefetch(ctx)
	return nil
}

// reqLog collects what one request's log line reports.
type reqLog struct {
	status   int
	key      string // the key's name, never the key
	account  string
	attempts int
	err      error           // internal cause, for the log only
	usage    *metering.Usage // the upstream's final usage, when one came (sse.go)
}

// ServeHTTP authenticates the client, routes the request and relays the
// upstream answer. Errors are answered by writeError in OpenAI's shape.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.cfg.Clock()
	lg := &reqLog{}
	defer p.logLater(r, lg, start) // deferred: also logs a response aborted by panic(http.ErrAbortHandler)
	p.serve(w, r, lg)
	p.recordUsage(lg) // after the answer's last byte; skipped by an aborted response
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, lg *reqLog) {
	rt, routeErr := match(r.Method, r.URL.Path)
	if rt != nil {
		if es, ok := rt.front.(errorShaper); ok { // the route's clients expect their own error shape
			sw := es.shapeErrors(w)
			defer func() { lg.status = sw.finish(lg.status) }()
			w = sw
		}
	}
	fail := func(err error) { lg.status = p.writeError(w, err) }
	name, ctl, err := p.authenticate(r)
	if err != nil {
		lg.err = err
		fail(err)
		return
	}
	lg.key = name
	if routeErr != nil {
		if errors.Is(routeErr, errMethod) {
			w.Header().Set("Allow", rt.method)
		}
		fail(routeErr)
		return
	}
	in, err := readRequest(r, rt, &p.cfg)
	if err != nil {
		lg.err = err
		fail(err)
		return
	}
	if in.answer != nil {
		lg.status = writeJSON(w, nil, in.answer)
		return
	}
	if err := ctl.checkModel(in); err != nil {
		lg.err = err
		fail(err)
		return
	}
	in.ctl = ctl
	if ctl != nil && ctl.maxConcurrent > 0 {
		if !p.inflight.acquire(name, ctl.maxConcurrent) {
			err := errTooManyConcurrent(ctl.maxConcurrent, p.cfg.Clock())
			lg.err = err
			fail(err)
			return
		}
		// After the answer's last byte, or the client's departure: forward
		// returns (or panics with http.ErrAbortHandler) only then.
		defer p.inflight.release(name)
	}
	p.forward(w, r, in, lg)
}

func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String("error", err.Error())
}

// detached returns a context for work that must finish even when the
// client went away (store writes), bounded by d.
func detached(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}
