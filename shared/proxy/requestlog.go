package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// requestLog writes each request's log line after its answer ended, from
// one goroutine that lives as long as the Proxy.
//
// After, not before: the HTTP server ends a streamed body only when the
// handler returns, so a line written inside the handler puts a write to the
// log (a pipe that may be slow to drain) in front of every answer's end.
// One writer rather than a goroutine per line: a new goroutine's stack
// would grow for slog's formatting on every request, where the writer's
// stack grows once.
type requestLog struct {
	log     *slog.Logger
	start   sync.Once
	lines   chan logLine
	pending sync.WaitGroup // lines not written yet; Proxy.Wait waits for them
}

// logLine is what one request's line reports.
type logLine struct {
	ctx          context.Context
	method, path string
	lg           *reqLog
	took         time.Duration
}

// logQueue bounds the lines waiting for the writer; past it, a handler
// writes its own line (the log is slower than the requests).
const logQueue = 4096

// logLater queues the request's log line for the writer.
func (p *Proxy) logLater(r *http.Request, lg *reqLog, start time.Time) {
	l := logLine{ctx: context.WithoutCancel(r.Context()), method: r.Method, path: r.URL.Path, lg: lg, took: p.cfg.Clock().Sub(start)}
	q := &p.logs
	q.start.Do(func() {
		q.lines = make(chan logLine, logQueue)
		go q.write()
	})
	q.pending.Add(1)
	select {
	case q.lines <- l:
	default:
		q.line(l)
		q.pending.Done()
	}
}

func (q *requestLog) write() {
	for l := range q.lines {
		q.line(l)
		q.pending.Done()
	}
}

// line writes one request's log line. It never includes the key, tokens or
// bodies. It hands the record to the handler itself, with no caller
// (pc 0): the Logger's methods walk the stack for one on every call, which
// cost half as much as formatting the line, and the source would only ever
// name this writer.
func (q *requestLog) line(l logLine) {
	level := slog.LevelInfo
	if l.lg.status >= 500 || l.lg.err != nil {
		level = slog.LevelWarn
	}
	h := q.log.Handler()
	if !h.Enabled(l.ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, "request", 0)
	r.AddAttrs(
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.lg.status),
		slog.String("key", l.lg.key),
		slog.String("account", l.lg.account),
		slog.Int("attempts", l.lg.attempts),
		slog.Duration("duration", l.took),
		errAttr(l.lg.err))
	h.Handle(l.ctx, r) //nolint:errcheck // a log line that cannot be written has nowhere to go
}
