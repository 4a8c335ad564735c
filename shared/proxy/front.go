package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/codexgate/codexgate/shared/sse"
)

// front adapts a client API other than the Responses API (Chat
// Completions) to the Responses stream. It plugs in at two points only: the
// body, translated before anything goes upstream, and the relay, which
// converts the upstream events. Key check, account routing, 401 refresh and
// replay, failover and cooldowns are the same code as for /v1/responses.
type front interface {
	// translate validates and translates a client body (already checked to
	// be JSON). A request the front refuses is an *apiError.
	translate(body []byte) (*frontRequest, error)
}

// frontRequest is a translated client request.
type frontRequest struct {
	body     []byte // the Responses request body
	stream   bool   // what the client asked for
	cacheKey string // prompt_cache_key sent upstream, for account affinity
	conv     converter
}

// converter turns one upstream Responses stream into the front's output.
// One converter serves one request and is used from one goroutine.
type converter interface {
	// event converts one upstream event, appending what the client gets
	// (when streaming) to dst.
	event(dst []byte, name string, data []byte) ([]byte, frontStatus, error)
	// result is the non-streaming answer, once event returned frontDone.
	result() ([]byte, error)
	// streamError appends the event that reports ae inside a stream.
	streamError(dst []byte, ae *apiError) []byte
}

type frontStatus int

const (
	frontContinue frontStatus = iota
	frontDone                 // the answer is complete; a stream is closed properly
	frontFailed               // the event is an upstream error (response.failed, error)
)

// readFront builds the inbound request of a front route.
func readFront(r *http.Request, rt *route, raw []byte) (*inbound, error) {
	fr, err := rt.front.translate(raw)
	if err != nil {
		return nil, err
	}
	var cacheKey json.RawMessage
	if fr.cacheKey != "" {
		cacheKey, _ = json.Marshal(fr.cacheKey) // a string: cannot fail
	}
	return &inbound{rt: rt, header: r.Header, body: fr.body, stream: fr.stream,
		session: sessionKey(r.Header, cacheKey), conv: fr.conv}, nil
}

// relayFront answers a front request from the upstream answer.
func (p *Proxy) relayFront(w http.ResponseWriter, in *inbound, up *upstreamAnswer, lg *reqLog) int {
	switch {
	case up.sse == nil:
		// An answer failover did not take (400, 404, 422, or a 200 that is
		// no event stream): the client gets it in OpenAI's error shape.
		ae := upstreamRefusal(up.resp)
		lg.err = ae
		return p.writeError(w, ae)
	case in.stream:
		return p.relayConverted(w, in.conv, up, lg)
	default:
		return p.aggregateConverted(w, in.conv, up, lg)
	}
}

// upstreamRefusal maps a non-stream upstream answer to the client's error,
// keeping the upstream's status and message (meant for API clients).
func upstreamRefusal(resp *http.Response) *apiError {
	status := resp.StatusCode
	ue := readUpstreamError(resp)
	if status < 400 {
		return errIncomplete
	}
	typ, code := typeInvalidRequest, ue.kind()
	if status >= 500 {
		typ = typeServer
	}
	if code == "" {
		code = "upstream_error"
	}
	msg := ue.Message
	if msg == "" {
		msg = fmt.Sprintf("The Codex backend refused the request (HTTP %d).", status)
	}
	return &apiError{status: status, typ: typ, code: code, message: msg}
}

// relayConverted streams the converted events, flushing after each batch
// of upstream events that produced output.
func (p *Proxy) relayConverted(w http.ResponseWriter, conv converter, up *upstreamAnswer, lg *reqLog) int {
	rc := http.NewResponseController(w)
	copyResponseHeader(w.Header(), up.resp.Header)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	out := (*bp)[:0]
	batch, err := up.first, error(nil)
	for {
		var st frontStatus
		for len(batch) > 0 && st == frontContinue {
			n := sse.Len(batch)
			if n < 0 {
				n = len(batch)
			}
			ev := viewEvent(batch[:n])
			batch = batch[n:]
			var cerr error
			out, st, cerr = conv.event(out, ev.Name, ev.Data)
			switch {
			case cerr != nil:
				lg.err = cerr
				out = conv.streamError(out, errIncomplete)
				st = frontFailed
			case st == frontFailed:
				ae := parseUpstreamError(ev.Data).toClientError()
				lg.err = ae
				out = conv.streamError(out, ae)
			}
		}
		if len(out) > 0 {
			if _, werr := w.Write(out); werr != nil {
				lg.err = werr
				return http.StatusOK
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				lg.err = ferr
				return http.StatusOK
			}
			out = out[:0]
		}
		if st != frontContinue {
			return http.StatusOK
		}
		if err != nil {
			// Cut mid-answer, or ended without a terminal event.
			lg.err = errors.Join(errIncomplete, err)
			w.Write(conv.streamError(out, errIncomplete)) //nolint:errcheck // the client may be gone too
			rc.Flush()                                    //nolint:errcheck
			return http.StatusOK
		}
		batch, err = up.sse.next()
	}
}

// aggregateConverted reads the whole upstream stream and answers the
// front's single object, or the failure as an OpenAI error.
func (p *Proxy) aggregateConverted(w http.ResponseWriter, conv converter, up *upstreamAnswer, lg *reqLog) int {
	raw, err := up.first, error(nil)
	for {
		ev := viewEvent(raw)
		_, st, cerr := conv.event(nil, ev.Name, ev.Data)
		switch {
		case cerr != nil:
			lg.err = cerr
			return p.writeError(w, errIncomplete)
		case st == frontFailed:
			ae := parseUpstreamError(ev.Data).toClientError()
			lg.err = ae
			return p.writeError(w, ae)
		case st == frontDone:
			body, rerr := conv.result()
			if rerr != nil {
				lg.err = rerr
				return p.writeError(w, errIncomplete)
			}
			copyResponseHeader(w.Header(), up.resp.Header)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body) //nolint:errcheck // the client went away
			return http.StatusOK
		}
		if err != nil {
			lg.err = errors.Join(errIncomplete, err)
			return p.writeError(w, errIncomplete)
		}
		raw, err = up.sse.nextEvent()
	}
}

// maxRewriteBody bounds a JSON answer the proxy rewrites (the model list).
const maxRewriteBody = 8 << 20

// relayRewritten answers a 200 JSON body through the route's rewrite (the
// model list gains OpenAI's list shape). A body the rewrite cannot read is
// passed on unchanged.
func (p *Proxy) relayRewritten(w http.ResponseWriter, rt *route, up *upstreamAnswer, lg *reqLog) int {
	body, err := io.ReadAll(io.LimitReader(up.resp.Body, maxRewriteBody+1))
	if err != nil || len(body) > maxRewriteBody {
		lg.err = fmt.Errorf("read %s answer: %w", rt.path, errors.Join(err, errTooLarge))
		return p.writeError(w, errIncomplete)
	}
	if out, rerr := rt.rewrite(bytes.TrimSpace(body)); rerr == nil {
		body = out
	} else {
		lg.err = rerr
	}
	copyResponseHeader(w.Header(), up.resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(up.resp.StatusCode)
	w.Write(body) //nolint:errcheck // the client went away
	return up.resp.StatusCode
}
