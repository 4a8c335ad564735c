package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/console"
	"github.com/codexgate/codexgate/shared/scheduled"
	"github.com/codexgate/codexgate/shared/usage"
)

// ServeCommand runs the proxy as a local HTTP server.
type ServeCommand struct{ m *Main }

// Run executes `codexgate serve`.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "serve", "codexgate serve [--addr 127.0.0.1:8080]",
		"Serves the codexgate proxy (POST /v1/responses, POST /v1/responses/compact,\n"+
			"POST /v1/chat/completions, GET /v1/models)\n"+
			"over plain HTTP, streaming each SSE event as it arrives, with the same accounts, keys and\n"+
			"refresh routine as the Lambda deployment. Clients authenticate with a key from\n"+
			"`codexgate keys create`. Per-key usage is summed and written every CODEXGATE_USAGE_FLUSH (1s).\n"+
			"Polls every account's quota at start and every --quota-every (the quota cron's code), and\n"+
			"serves the operator console at GET /status (an admin key reads GET /v1/admin/status).\n"+
			"Stops gracefully on SIGINT or SIGTERM, writing the usage still pending.")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port; the URL is printed)")
	grace := fs.Duration("shutdown-timeout", 10*time.Second, "how long in-flight requests may finish after SIGINT/SIGTERM")
	quotaEvery := fs.Duration("quota-every", 15*time.Minute, "how often the quota poll runs (0: never; it also runs at start)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *quotaEvery < 0 {
		return usagef(fs.cmd, "--quota-every %s: want 0 (never) or more", *quotaEvery)
	}
	a, err := c.m.loadApp(ctx, slog.LevelInfo)
	if err != nil {
		return err
	}
	handler, err := a.Proxy()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           console.Mount(handler, a.Console(handler, "serve")),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a Codex turn streams for minutes.
		ErrorLog: slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Load the account pool now, as a Lambda's init phase does, so the
	// console shows the account list before the first client request.
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		handler.Warm(wctx) //nolint:errcheck // logged by the pool; retried on demand
	}()
	// Usage is summed per counter and written every interval (and at
	// shutdown), not once per request.
	fctx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		flushEvery(fctx, handler.FlushUsage, a.Config.UsageFlush)
	}()
	defer func() { stopFlush(); <-flushed }()
	// The quota poll, as the quota-cron function runs it deployed: the
	// console and `codexgate accounts` then show live windows.
	if *quotaEvery > 0 {
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			pollQuota(fctx, a, *quotaEvery)
		}()
		defer func() { stopFlush(); <-polled }()
	}

	n := "?"
	if names, err := a.Secrets.List(ctx); err == nil {
		n = fmt.Sprint(len(names))
	} else {
		a.Logger.Warn("cannot list accounts", slog.Any("error", err))
	}
	fmt.Fprintf(c.m.Stdout, "codexgate serving on http://%s/v1 (%s accounts, upstream %s)\n", ln.Addr(), n, a.Config.UpstreamURL)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(c.m.Stderr, "codexgate: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	// The usage summed since the last flush is written now, within the
	// same grace period.
	stopFlush()
	<-flushed
	if err := handler.Wait(sctx); err != nil {
		a.Logger.Warn("usage not all written at shutdown", slog.Any("error", err))
	}
	return nil
}

// pollQuota runs the quota poll now and then every interval until ctx
// ends, logging each run's counts.
func pollQuota(ctx context.Context, a *app.App, every time.Duration) {
	// Wired as functions/quota-cron wires it, without metrics: only the
	// functions' stdout becomes metrics.
	qc := &scheduled.QuotaCron{
		Accounts: a.Accounts,
		Tokens:   a.Refresher,
		Usage:    &usage.Client{URL: a.Config.UsageURL, HTTP: &http.Client{Transport: a.HTTP.Transport, Timeout: 20 * time.Second}},
		States:   a.States,
		Logger:   a.Logger,
	}
	run := func() {
		res, err := qc.Handle(ctx, events.EventBridgeEvent{ID: "serve"})
		if err != nil {
			a.Logger.Warn("quota poll", slog.Any("error", err))
			return
		}
		a.Logger.Info("quota poll", slog.Int("ok", res.OK), slog.Int("limited", res.Limited),
			slog.Int("reauth_required", res.Reauth), slog.Int("failed", res.Failed))
	}
	run()
	tick(ctx, every, run)
}

// flushEvery calls flush every interval until ctx ends. A failed write is
// logged by the proxy and kept for the next flush.
func flushEvery(ctx context.Context, flush func(context.Context) error, every time.Duration) {
	tick(ctx, every, func() {
		flush(ctx) //nolint:errcheck // each failed counter is logged and retried at the next flush
	})
}

// tick calls fn every interval until ctx ends.
func tick(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
