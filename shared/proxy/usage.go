package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/codexgate/codexgate/shared/jsonscan"
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

// parseUsage reads the usage of a response.completed/incomplete event's
// data. ok is false when the event carries no usage object, or a malformed
// one. The event holds the whole answer: it is skimmed (jsonscan) and only
// the model and the token counts are decoded, without reflection, since
// every answer pays for it.
func parseUsage(data []byte) (Usage, bool) {
	var resp [1][]byte
	var f [2][]byte
	if _, ok := jsonscan.FieldsInto(resp[:], data, responseKey); !ok || resp[0] == nil {
		return Usage{}, false
	}
	if _, ok := jsonscan.FieldsInto(f[:], resp[0], modelUsageKeys); !ok || f[1] == nil {
		return Usage{}, false
	}
	var c [4][]byte
	if _, ok := jsonscan.FieldsInto(c[:], f[1], usageKeys); !ok {
		return Usage{}, false // null or not an object
	}
	var u Usage
	var ok [5]bool
	u.InputTokens, ok[0] = tokenCount(c[0])
	u.CachedTokens, ok[1] = detailCount(c[1], cachedKey)
	u.OutputTokens, ok[2] = tokenCount(c[2])
	u.ReasoningTokens, ok[3] = detailCount(c[3], reasoningKey)
	u.Model, ok[4] = jsonString(f[0])
	if ok != [5]bool{true, true, true, true, true} {
		return Usage{}, false
	}
	return u, true
}

var (
	responseKey    = []string{"response"}
	modelUsageKeys = []string{"model", "usage"}
	usageKeys      = []string{"input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details"}
	cachedKey      = []string{"cached_tokens"}
	reasoningKey   = []string{"reasoning_tokens"}
)

// tokenCount decodes a raw JSON count: absent or null is 0.
func tokenCount(raw []byte) (int64, bool) {
	if raw == nil || string(raw) == "null" {
		return 0, true
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// detailCount decodes key of a raw details object: absent or null is 0.
func detailCount(raw []byte, key []string) (int64, bool) {
	if raw == nil || string(raw) == "null" {
		return 0, true
	}
	var v [1][]byte
	if _, ok := jsonscan.FieldsInto(v[:], raw, key); !ok {
		return 0, false
	}
	return tokenCount(v[0])
}

// jsonString decodes a raw JSON string: absent or null is "".
func jsonString(raw []byte) (string, bool) {
	switch {
	case raw == nil || string(raw) == "null":
		return "", true
	case len(raw) < 2 || raw[0] != '"':
		return "", false
	case bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}
