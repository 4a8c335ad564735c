package awsfault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codexgate/codexgate/shared/sdkhttp"
)

// Action is what a Fault does to a call after its Delay and Hook.
type Action int

const (
	// Pass sends the call normally (only Delay and Hook apply).
	Pass Action = iota
	// Refuse fails the call before anything is sent: the server never sees it.
	Refuse
	// Drop sends the call and then discards the response: the server acted,
	// the caller gets a transport error (outcome unknown).
	Drop
	// Respond answers with Status and Body without sending the call.
	Respond
)

func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Drop:
		return "drop"
	case Respond:
		return "respond"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Fault describes what happens to the next calls of one operation.
type Fault struct {
	Action Action
	// Times is how many calls the fault applies to; 0 means every call until
	// Clear or ClearAll.
	Times int
	// Status and Body form the answer for Respond (Status defaults to 500).
	// An AWS JSON error body looks like
	// {"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"..."}.
	Status int
	Body   string
	// Delay waits before the action; a cancelled request context ends the wait
	// with the context's error.
	Delay time.Duration
	// Hook, when set, is called with the operation name before the action,
	// outside any lock: it may block or exit the process.
	Hook func(op string)
}

// ErrInjected is wrapped by the transport errors Refuse and Drop return.
var ErrInjected = errors.New("awsfault: injected fault")

// Transport is an http.RoundTripper that counts calls per operation and
// applies injected faults. Its methods are safe for concurrent use.
type Transport struct {
	base http.RoundTripper

	mu     sync.Mutex
	faults map[string][]*Fault // per operation, first applies first
	counts map[string]int
}

// New returns a Transport sending through base; nil means a clone of
// http.DefaultTransport.
func New(base http.RoundTripper) *Transport {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Transport{base: base, faults: map[string][]*Fault{}, counts: map[string]int{}}
}

// Wrap returns a copy of cfg whose clients send through t. Build clients from
// it with dynamodb.NewFromConfig, secretsmanager.NewFromConfig and so on.
func (t *Transport) Wrap(cfg aws.Config) aws.Config {
	cfg.HTTPClient = sdkhttp.Wrap(&http.Client{Transport: t})
	return cfg
}

// NoRetries returns a copy of cfg whose clients make one attempt per call, so
// an injected fault reaches the caller instead of being retried away.
func NoRetries(cfg aws.Config) aws.Config {
	cfg.RetryMaxAttempts = 1
	return cfg
}

// Operation names a request by its X-Amz-Target header, without the service
// prefix: "DynamoDB_20120810.GetItem" → "GetItem". Requests without the
// header are named "METHOD /path".
func Operation(req *http.Request) string {
	target := req.Header.Get("X-Amz-Target")
	if target == "" {
		return req.Method + " " + req.URL.Path
	}
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}

// Inject adds f for operation op (as Operation names it). Faults for one
// operation apply in the order injected: the next starts when the previous
// has used up its Times.
func (t *Transport) Inject(op string, f Fault) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults[op] = append(t.faults[op], &f)
}

// Clear removes every fault for op.
func (t *Transport) Clear(op string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.faults, op)
}

// ClearAll removes every fault.
func (t *Transport) ClearAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = map[string][]*Fault{}
}

// Counts returns a copy of the calls seen per operation, faulted ones
// included (an SDK retry counts again).
func (t *Transport) Counts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.counts))
	for k, v := range t.counts {
		out[k] = v
	}
	return out
}

// Count returns the calls seen for op.
func (t *Transport) Count(op string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[op]
}

// Total returns the calls seen for every operation.
func (t *Transport) Total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.counts {
		n += v
	}
	return n
}

// Reset zeroes the counts; injected faults stay.
func (t *Transport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts = map[string]int{}
}

// take counts a call of op and returns the fault that applies to it, if any.
func (t *Transport) take(op string) *Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[op]++
	queue := t.faults[op]
	if len(queue) == 0 {
		return nil
	}
	f := *queue[0]
	if queue[0].Times > 0 {
		queue[0].Times--
		if queue[0].Times == 0 {
			queue = queue[1:]
			if len(queue) == 0 {
				delete(t.faults, op)
			} else {
				t.faults[op] = queue
			}
		}
	}
	return &f
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := Operation(req)
	f := t.take(op)
	if f == nil {
		return t.base.RoundTrip(req)
	}
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			closeBody(req)
			return nil, req.Context().Err()
		}
	}
	if f.Hook != nil {
		f.Hook(op)
	}
	switch f.Action {
	case Refuse:
		closeBody(req)
		return nil, fmt.Errorf("%w: %s refused before sending", ErrInjected, op)
	case Drop:
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body) // let the server finish; the answer is thrown away
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s response dropped after sending (status %d)", ErrInjected, op, resp.StatusCode)
	case Respond:
		closeBody(req)
		return response(req, f.Status, f.Body), nil
	default:
		return t.base.RoundTrip(req)
	}
}

// response builds an AWS-JSON-shaped answer.
func response(req *http.Request, status int, body string) *http.Response {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", "awsfault")
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)) // DynamoDB checks it
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// closeBody honours the RoundTripper contract: the request body is closed
// even when the request is not sent.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// ErrorBody returns an AWS JSON error body for Respond, e.g.
// ErrorBody("ConditionalCheckFailedException", "The conditional request failed").
func ErrorBody(code, message string) string {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	return string(b)
}
