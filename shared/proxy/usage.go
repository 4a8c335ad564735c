package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// UsageRecorder receives each request's usage, once the answer is
// complete. awsstores.Usage adds it to the day's counters in the state
// table and emits it as metrics.
type UsageRecorder interface {
	RecordUsage(ctx context.Context, u UsageRecord) error
}

// UsageRecord is one request's usage as the upstream reported it in its
// final event (response.completed or response.incomplete).
type UsageRecord struct {
	Time    time.Time // when the request ended (Config.Clock)
	Key     string    // the client key's name
	Account string    // the account that answered
	Usage
}

// Usage is the usage object of a Responses answer.
type Usage struct {
	Model           string
	InputTokens     int64
	CachedTokens    int64 // part of InputTokens
	OutputTokens    int64
	ReasoningTokens int64 // part of OutputTokens
}

// usageTimeout bounds the one write of a request's usage.
const usageTimeout = 5 * time.Second

// maxUsageWrites bounds the usage writes in flight per process.
const maxUsageWrites = 32

// recordUsage hands the request's usage to the recorder, once per request:
// a request counts when the upstream's final event carried a usage object,
// whatever the front. The write runs beside the end of the answer, not
// before it: the HTTP server ends a streamed body only when the handler
// returns, so a write inside it would delay every answer's end by a
// DynamoDB round trip. A process that is about to end (a Lambda invocation,
// `codexgate serve` on a signal) waits for the writes in flight (Wait).
func (p *Proxy) recordUsage(r *http.Request, lg *reqLog) {
	if lg.usage == nil || lg.key == "" {
		return
	}
	rec := UsageRecord{Time: p.cfg.Clock(), Key: lg.key, Account: lg.account, Usage: *lg.usage}
	p.budgets.add(rec.Key, rec.Time, rec.InputTokens+rec.OutputTokens)
	if p.cfg.Usage == nil {
		return
	}
	// At most maxUsageWrites run at once: a slow table then slows the ends
	// of answers down instead of piling up writes.
	p.slots <- struct{}{}
	ctx, cancel := detached(r.Context(), usageTimeout)
	p.writes.Add(1)
	go func() {
		defer p.writes.Done()
		defer func() { <-p.slots }()
		defer cancel()
		if err := p.cfg.Usage.RecordUsage(ctx, rec); err != nil {
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "record usage", slog.String("key", lg.key), slog.String("error", err.Error()))
		}
	}()
}

// Wait blocks until the usage writes in flight are done, or ctx ends.
func (p *Proxy) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.writes.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watchUsage looks at events as the reader hands them out and keeps the
// usage of the final one. Only the event names are looked at until a final
// event comes, so a stream of deltas costs a line scan per event.
func (s *sseReader) watchUsage(events []byte) {
	for len(events) > 0 {
		n := eventEnd(events)
		if n < 0 {
			n = len(events)
		}
		ev := events[:n]
		events = events[n:]
		name := eventName(ev)
		if name == "" {
			if !bytes.Contains(ev, []byte(`"response.`)) {
				continue
			}
			name = parseEvent(ev).name
		}
		if name != "response.completed" && name != "response.incomplete" {
			continue
		}
		if u, ok := parseUsage(parseEvent(ev).data); ok {
			s.usage = &u
		}
	}
}

// parseUsage reads the usage of a response.completed/incomplete event's
// data. ok is false when the event carries no usage object.
func parseUsage(data []byte) (Usage, bool) {
	var ev struct {
		Response struct {
			Model string `json:"model"`
			Usage *struct {
				InputTokens        int64 `json:"input_tokens"`
				InputTokensDetails struct {
					CachedTokens int64 `json:"cached_tokens"`
				} `json:"input_tokens_details"`
				OutputTokens        int64 `json:"output_tokens"`
				OutputTokensDetails struct {
					ReasoningTokens int64 `json:"reasoning_tokens"`
				} `json:"output_tokens_details"`
			} `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &ev) != nil || ev.Response.Usage == nil {
		return Usage{}, false
	}
	u := ev.Response.Usage
	return Usage{Model: ev.Response.Model, InputTokens: u.InputTokens, CachedTokens: u.InputTokensDetails.CachedTokens,
		OutputTokens: u.OutputTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}, true
}
