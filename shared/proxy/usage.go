package proxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/codexgate/codexgate/shared/jsonscan"
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

// parseUsage reads the usage of a response.completed/incomplete event's
// data. ok is false when the event carries no usage object. The event
// holds the whole answer: only the model and the usage are decoded, the
// rest is skimmed (jsonscan).
func parseUsage(data []byte) (Usage, bool) {
	var resp [1][]byte
	if _, ok := jsonscan.FieldsInto(resp[:], data, []string{"response"}); !ok || resp[0] == nil {
		return Usage{}, false
	}
	var f [2][]byte
	if _, ok := jsonscan.FieldsInto(f[:], resp[0], []string{"model", "usage"}); !ok || f[1] == nil {
		return Usage{}, false
	}
	var model string
	var u *struct {
		InputTokens        int64 `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int64 `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	}
	if json.Unmarshal(f[1], &u) != nil || u == nil || (f[0] != nil && json.Unmarshal(f[0], &model) != nil) {
		return Usage{}, false
	}
	return Usage{Model: model, InputTokens: u.InputTokens, CachedTokens: u.InputTokensDetails.CachedTokens,
		OutputTokens: u.OutputTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}, true
}
