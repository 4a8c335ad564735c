package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/statestore"
)

// gateway is codexgate's proxy as deployed, several containers of it: each
// container is its own App (AWS clients, Refresher, caches) and Proxy (pool,
// key cache), wired by app.New and App.Proxy exactly as functions/proxy and
// `codexgate serve` wire them, and served over HTTP like `codexgate serve`
// (usage flushed every second). All share one world: the moto table and
// secrets, and the simulator. Each container's AWS calls go through its own
// awsfault.Transport, so AWS faults can hit one container and not another.
type gateway struct {
	w          *simworld.World
	key        string // a client key (plaintext; never logged)
	containers []*container

	stopTrickle chan struct{}
	trickles    sync.WaitGroup // the loops
	inflight    sync.WaitGroup // their requests
}

// container is one simulated Lambda container of the proxy.
type container struct {
	name    string
	aws     *awsfault.Transport
	app     *app.App
	proxy   *proxy.Proxy
	srv     *httptest.Server
	client  *http.Client
	logs    *logRing
	results outcomes
}

// requestTimeout bounds one client request: an answer later than the 60 s
// the recovery promise allows is a failure anyway.
const requestTimeout = 60 * time.Second

// newGateway starts n containers over w with the given Refresher options
// (none: production timeouts), and creates a client key.
func newGateway(t *testing.T, w *simworld.World, n int, opts ...codex.Option) *gateway {
	t.Helper()
	key, _, err := statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table).CreateKey(context.Background(), "chaos")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{w: w, key: key, stopTrickle: make(chan struct{})}
	for i := range n {
		c := &container{name: fmt.Sprintf("c%d", i+1), aws: awsfault.New(nil), logs: newLogRing(400)}
		cfg := c.aws.Wrap(w.AWS)
		c.app, err = app.New(context.Background(), w.Config(), app.Options{
			AWS:              &cfg,
			Logger:           slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			RefresherOptions: opts,
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.proxy, err = c.app.Proxy(); err != nil {
			t.Fatal(err)
		}
		c.srv = httptest.NewServer(c.proxy)
		c.client = c.srv.Client()
		c.client.Timeout = requestTimeout
		g.containers = append(g.containers, c)
		// As `codexgate serve` does: usage summed and written every second.
		flushCtx, stopFlush := context.WithCancel(context.Background())
		flushed := make(chan struct{})
		go func() {
			defer close(flushed)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-flushCtx.Done():
					return
				case <-tick.C:
					c.proxy.FlushUsage(flushCtx) //nolint:errcheck // logged by the proxy, retried next tick
				}
			}
		}()
		t.Cleanup(func() {
			stopFlush()
			<-flushed
			c.srv.Close()
		})
	}
	t.Cleanup(g.stop)
	return g
}

// trickle starts, in every container, an open-loop stream of requests: one
// every min..max (drawn from rng), each in its own goroutine, as independent
// clients send them. A slow answer does not hold the next request back.
func (g *gateway) trickle(rng *rand.Rand, minGap, maxGap time.Duration) {
	for _, c := range g.containers {
		// Each loop has its own generator (a *rand.Rand is not safe for
		// concurrent use), seeded from rng so a run's gaps repeat.
		r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		g.trickles.Go(func() {
			for {
				select {
				case <-g.stopTrickle:
					return
				case <-time.After(minGap + time.Duration(r.Int64N(int64(maxGap-minGap)+1))):
				}
				g.inflight.Go(func() { c.results.add(c.request(g.key)) })
			}
		})
	}
}

// stop ends the trickle and waits for the requests in flight (each bounded
// by requestTimeout). It may be called more than once.
func (g *gateway) stop() {
	select {
	case <-g.stopTrickle:
	default:
		close(g.stopTrickle)
	}
	g.trickles.Wait()
	g.inflight.Wait()
}

// responsesBody is a Codex CLI turn as the simulator's strict rules want it.
const responsesBody = `{"model":"gpt-5.1-codex","instructions":"You are Codex.","input":"Say hi","stream":true,"store":false}`

// request sends one streamed turn. Served means HTTP 200 and a stream that
// reached response.completed.
func (c *container) request(key string) (o outcome) {
	o.Start = time.Now()
	defer func() { o.End = time.Now() }() // a named result: the deferred stamp is returned
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/v1/responses", strings.NewReader(responsesBody))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		o.Why = "transport: " + redact(err.Error())
		return o
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	o.Status = resp.StatusCode
	switch {
	case err != nil:
		o.Why = fmt.Sprintf("HTTP %d, body cut: %s", resp.StatusCode, redact(err.Error()))
	case resp.StatusCode != http.StatusOK:
		o.Why = fmt.Sprintf("HTTP %d %s", resp.StatusCode, errorCode(body))
	case !strings.Contains(string(body), "event: response.completed"):
		o.Why = fmt.Sprintf("HTTP 200, stream without response.completed %s", errorCode(body))
	default:
		o.OK = true
	}
	return o
}

// served counts each container's successful requests so far.
func (g *gateway) served() []int {
	out := make([]int, len(g.containers))
	for i, c := range g.containers {
		for _, o := range c.results.snapshot() {
			if o.OK {
				out[i]++
			}
		}
	}
	return out
}

// awaitServing waits until every container has served a request, up to
// limit; it reports whether they did.
func (g *gateway) awaitServing(limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		all := true
		for _, n := range g.served() {
			all = all && n > 0
		}
		if all {
			return true
		}
	}
	return false
}

// awaitRecovery watches the containers after the faults ended at ended: it
// returns once every container has been all green (every request started
// since succeeded) for stable, or at ended+limit+stable, whichever is first.
// A container that is not green by ended+limit broke the promise, and
// waiting longer would only prolong a failing run.
func (g *gateway) awaitRecovery(ended time.Time, limit, stable time.Duration) {
	deadline := ended.Add(limit + stable)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		all := true
		for _, c := range g.containers {
			r := recoveryOf(c.results.snapshot(), ended)
			all = all && r.AllGreen >= 0 && r.GreenFor >= stable
		}
		if all {
			return
		}
	}
}

// states reads the account states every container shares.
func (g *gateway) states(ctx context.Context) (statestore.Snapshot, error) {
	return g.containers[0].app.States.Load(ctx)
}
