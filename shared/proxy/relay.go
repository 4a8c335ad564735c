package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/codexgate/codexgate/shared/sse"
)

// copyBufs are the scratch buffers of relayBody and relayConverted.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, sse.BufferSize); return &b }}

// relay sends an upstream answer to the client and returns the status the
// client got. From here on nothing is replayed: a broken upstream ends an
// event stream with an SSE error event.
func (p *Proxy) relay(w http.ResponseWriter, r *http.Request, in *inbound, up *upstreamAnswer, lg *reqLog) int {
	defer func() {
		if up.sse != nil {
			lg.usage = up.sse.usage // whatever the front, the final event passed the reader
		}
		up.close()
	}()
	switch {
	case in.conv != nil:
		return p.relayFront(w, in, up, lg)
	case in.rt.rewrite != nil && up.resp.StatusCode == http.StatusOK && r.Method == http.MethodGet:
		return p.relayRewritten(w, in, up, lg)
	case up.sse != nil && in.stream:
		return p.relayEvents(w, up, lg)
	case up.sse != nil:
		hw := p.holdOpen(w, up.resp.Header) // a long turn must not idle out
		defer hw.stop()
		return hw.status(p.aggregate(hw, up, lg))
	default:
		return p.relayBody(w, r, up, lg)
	}
}

// relayEvents passes the event stream through, whole events at a time,
// each read sent as soon as the upstream sent it.
func (p *Proxy) relayEvents(w http.ResponseWriter, up *upstreamAnswer, lg *reqLog) int {
	copyResponseHeader(w.Header(), up.resp.Header)
	w.WriteHeader(up.resp.StatusCode)
	sw := p.newStreamWriter(w, nil)
	defer sw.stop()
	chunk, err := up.first, error(nil)
	for {
		if len(chunk) > 0 {
			if werr := sw.send(chunk); werr != nil {
				lg.err = werr // the client went away; closing the body cancels upstream
				return up.resp.StatusCode
			}
		}
		if err != nil {
			break
		}
		chunk, err = up.sse.next()
	}
	if err == io.EOF && up.sse.terminal {
		return up.resp.StatusCode
	}
	// Cut mid-answer, or ended without a terminal event: tell the client in
	// the stream (Codex CLI then retries the turn itself).
	lg.err = errors.Join(errIncomplete, err)
	sw.send(streamErrorEvent(errIncomplete)) //nolint:errcheck // the client may be gone too
	return up.resp.StatusCode
}

// aggregate answers a non-streaming client: it reads the upstream stream to
// its end and returns the response.completed event's response object as
// JSON, or the failure as an OpenAI error.
func (p *Proxy) aggregate(w http.ResponseWriter, up *upstreamAnswer, lg *reqLog) int {
	raw, err := up.first, error(nil)
	for {
		ev := sse.Parse(raw)
		switch ev.Name {
		case "response.completed", "response.incomplete":
			var done struct {
				Response json.RawMessage `json:"response"`
			}
			if json.Unmarshal(ev.Data, &done) != nil || len(done.Response) == 0 {
				lg.err = errors.New("response.completed without a response object")
				return p.writeError(w, errIncomplete)
			}
			return writeJSON(w, up.resp.Header, done.Response)
		case "response.failed", "error":
			ae := parseUpstreamError(ev.Data).toClientError()
			lg.err = ae
			return p.writeError(w, ae)
		}
		if err != nil {
			lg.err = errors.Join(errIncomplete, err)
			return p.writeError(w, errIncomplete)
		}
		raw, err = up.sse.nextEvent()
	}
}

// writeJSON answers 200 with a whole JSON body and the upstream's headers.
func writeJSON(w http.ResponseWriter, upstream http.Header, body []byte) int {
	copyResponseHeader(w.Header(), upstream)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body) //nolint:errcheck // the client went away
	return http.StatusOK
}

// relayBody copies a non-SSE answer (compact, models, a client error) as is.
func (p *Proxy) relayBody(w http.ResponseWriter, r *http.Request, up *upstreamAnswer, lg *reqLog) int {
	copyResponseHeader(w.Header(), up.resp.Header)
	w.WriteHeader(up.resp.StatusCode)
	if r.Method == http.MethodHead {
		return up.resp.StatusCode
	}
	var sw *streamWriter // an event stream is sent as it comes
	if isEventStream(up.resp.Header) {
		sw = p.newStreamWriter(w, nil)
		defer sw.stop()
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := up.resp.Body.Read(buf)
		if n > 0 {
			var werr error
			if sw != nil {
				werr = sw.send(buf[:n])
			} else {
				_, werr = w.Write(buf[:n])
			}
			if werr != nil {
				lg.err = werr
				return up.resp.StatusCode
			}
		}
		if err == io.EOF {
			return up.resp.StatusCode
		}
		if err != nil {
			// The answer is cut and nothing can say so inside a JSON
			// body: abort the response so the client sees a broken
			// transfer, not a short document (as httputil.ReverseProxy).
			lg.err = err
			panic(http.ErrAbortHandler)
		}
	}
}

// maxRewriteBody bounds a JSON answer the proxy rewrites (the model list).
const maxRewriteBody = 8 << 20

// relayRewritten answers a 200 JSON body through the route's rewrite (the
// model list gains OpenAI's list shape, and keeps only the models the key
// may use). A body the rewrite cannot read is
// passed on unchanged.
func (p *Proxy) relayRewritten(w http.ResponseWriter, in *inbound, up *upstreamAnswer, lg *reqLog) int {
	rt := in.rt
	body, err := io.ReadAll(io.LimitReader(up.resp.Body, maxRewriteBody+1))
	if err != nil || len(body) > maxRewriteBody {
		lg.err = fmt.Errorf("read %s answer: %w", rt.path, errors.Join(err, errTooLarge))
		return p.writeError(w, errIncomplete)
	}
	if out, rerr := rt.rewrite(p, bytes.TrimSpace(body), in.ctl.modelFilter()); rerr == nil {
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
