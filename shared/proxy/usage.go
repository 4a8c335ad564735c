package proxy

import (
	"context"
	"errors"

	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// meter is what the handler needs of metering (a *metering.Meter): a
// budget check before a request, its usage after, and the flushes.
type meter interface {
	Check(key string, b metering.KeyBudget) error
	Add(r metering.Record)
	Flush(ctx context.Context) error
	Wait(ctx context.Context) error
}

// recordUsage counts the request's usage, once per request: a request
// counts when the upstream's final event carried a usage object, whatever
// the front. The key's budget sees it at once; the table write waits for
// the next flush: FlushUsage, which `codexgate serve` calls every
// interval, or Wait, which ends every Lambda invocation. No write runs
// inside the handler: the HTTP server ends a streamed body only when the
// handler returns, so a write there would delay every answer's end by a
// DynamoDB round trip.
func (p *Proxy) recordUsage(lg *reqLog) {
	if lg.usage == nil || lg.key == "" {
		return
	}
	p.meter.Add(metering.Record{Time: p.cfg.Clock(), Key: lg.key, Account: lg.account, Requests: 1, Usage: *lg.usage})
}

// FlushUsage writes the usage this process summed since the last flush,
// one write per counter (UTC day, key, account, model), and waits for
// those writes or ctx. A delta whose write failed stays pending for the
// next flush; the error says how many.
func (p *Proxy) FlushUsage(ctx context.Context) error {
	return p.meter.Flush(ctx)
}

// Wait flushes the pending usage and blocks until every usage write in
// flight and every request's log line is done, or ctx ends. A process
// calls it before it ends or freezes: a Lambda invocation
// (lambdaproxy.WaitAfter), `codexgate serve` on a signal.
func (p *Proxy) Wait(ctx context.Context) error {
	ferr := p.meter.Flush(ctx)
	return errors.Join(ferr, p.meter.Wait(ctx), metering.WaitGroup(ctx, &p.logs.pending))
}

// parseUsage reads the model and usage of a final event's data
// (responses.FinalUsage).
func parseUsage(data []byte) (metering.Usage, bool) {
	model, u, ok := responses.FinalUsage(data)
	if !ok {
		return metering.Usage{}, false
	}
	return metering.Usage{Model: model, InputTokens: u.InputTokens, CachedTokens: u.CachedTokens, OutputTokens: u.OutputTokens, ReasoningTokens: u.ReasoningTokens}, true
}
