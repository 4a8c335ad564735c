package proxy

import (
	"context"
	"errors"
	"time"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// UsageRecorder stores usage deltas: awsstores.Usage adds each to its day
// counter in the state table (one atomic add) and emits it as metrics.
type UsageRecorder interface {
	RecordUsage(ctx context.Context, u UsageRecord) error
}

// UsageRecord is the summed usage of Requests requests of one key, answered
// by one account and model on one UTC day (the day of Time), as the
// upstream reported it in each final event (response.completed or
// response.incomplete). In a Lambda invocation it is one request's.
type UsageRecord struct {
	Time     time.Time // when the (latest) request ended (Config.Clock)
	Key      string    // the client key's name
	Account  string    // the account that answered
	Requests int64     // how many requests the record sums
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

// usageTimeout bounds the one write of a counter's delta.
const usageTimeout = 5 * time.Second

// maxUsageWrites bounds the usage writes in flight per process.
const maxUsageWrites = 32

// recordUsage counts the request's usage, once per request: a request
// counts when the upstream's final event carried a usage object, whatever
// the front. The key's budget sees it at once; the table write waits for
// the next flush (usage_batch.go): FlushUsage, which `codexgate serve`
// calls every interval, or Wait, which ends every Lambda invocation. No
// write runs inside the handler: the HTTP server ends a streamed body only
// when the handler returns, so a write there would delay every answer's
// end by a DynamoDB round trip.
func (p *Proxy) recordUsage(lg *reqLog) {
	if lg.usage == nil || lg.key == "" {
		return
	}
	rec := UsageRecord{Time: p.cfg.Clock(), Key: lg.key, Account: lg.account, Requests: 1, Usage: *lg.usage}
	p.budgets.add(rec.Key, rec.Time, rec.InputTokens+rec.OutputTokens)
	p.usage.add(rec)
}

// FlushUsage writes the usage this process summed since the last flush,
// one write per counter (UTC day, key, account, model), and waits for
// those writes or ctx. A delta whose write failed stays pending for the
// next flush; the error says how many.
func (p *Proxy) FlushUsage(ctx context.Context) error {
	return p.usage.flush(ctx)
}

// Wait flushes the pending usage and blocks until every usage write in
// flight and every request's log line is done, or ctx ends. A process
// calls it before it ends or freezes: a Lambda invocation
// (lambdaproxy.WaitAfter), `codexgate serve` on a signal.
func (p *Proxy) Wait(ctx context.Context) error {
	ferr := p.usage.flush(ctx)
	return errors.Join(ferr, p.usage.wait(ctx), waitGroup(ctx, &p.logs.pending))
}

// parseUsage reads the model and usage of a final event's data
// (responses.FinalUsage).
func parseUsage(data []byte) (Usage, bool) {
	model, u, ok := responses.FinalUsage(data)
	if !ok {
		return Usage{}, false
	}
	return Usage{Model: model, InputTokens: u.InputTokens, CachedTokens: u.CachedTokens, OutputTokens: u.OutputTokens, ReasoningTokens: u.ReasoningTokens}, true
}
