package metering

import (
	"context"
	"time"
)

// Recorder stores usage deltas: awsstores.Usage adds each to its day
// counter in the state table (one atomic add) and emits it as metrics.
type Recorder interface {
	RecordUsage(ctx context.Context, u Record) error
}

// Record is the summed usage of Requests requests of one key, answered by
// one account and model on one UTC day (the day of Time), as the upstream
// reported it in each final event (response.completed or
// response.incomplete). In a Lambda invocation it is one request's.
type Record struct {
	Time     time.Time // when the (latest) request ended
	Key      string    // the client key's name
	Account  string    // the account that answered
	Requests int64     // how many requests the record sums
	Usage
}

// Usage is the usage object of a Responses answer, with its model.
type Usage struct {
	Model           string
	InputTokens     int64
	CachedTokens    int64 // part of InputTokens
	OutputTokens    int64
	ReasoningTokens int64 // part of OutputTokens
}

// add adds o's requests and token counts to r's.
func (r *Record) add(o Record) {
	r.Requests += o.Requests
	r.InputTokens += o.InputTokens
	r.CachedTokens += o.CachedTokens
	r.OutputTokens += o.OutputTokens
	r.ReasoningTokens += o.ReasoningTokens
}

// storeTimeout bounds one store call: a counter's write, a budget read.
const storeTimeout = 5 * time.Second

// maxWrites bounds the usage writes in flight per process.
const maxWrites = 32
