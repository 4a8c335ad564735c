package proxy

import (
	"encoding/json"
	"errors"
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
		return p.relayRewritten(w, in.rt, up, lg)
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
// flushing after every read so each event reaches the client as soon as the
// upstream sent it.
func (p *Proxy) relayEvents(w http.ResponseWriter, up *upstreamAnswer, lg *reqLog) int {
	rc := http.NewResponseController(w)
	copyResponseHeader(w.Header(), up.resp.Header)
	w.WriteHeader(up.resp.StatusCode)
	chunk, err := up.first, error(nil)
	for {
		if len(chunk) > 0 {
			if _, werr := w.Write(chunk); werr != nil {
				lg.err = werr // the client went away; closing the body cancels upstream
				return up.resp.StatusCode
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				lg.err = ferr
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
	w.Write(streamErrorEvent(errIncomplete)) //nolint:errcheck // the client may be gone too
	rc.Flush()                               //nolint:errcheck
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
			copyResponseHeader(w.Header(), up.resp.Header)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(done.Response)))
			w.WriteHeader(http.StatusOK)
			w.Write(done.Response) //nolint:errcheck // the client went away
			return http.StatusOK
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

// relayBody copies a non-SSE answer (compact, models, a client error) as is.
func (p *Proxy) relayBody(w http.ResponseWriter, r *http.Request, up *upstreamAnswer, lg *reqLog) int {
	copyResponseHeader(w.Header(), up.resp.Header)
	w.WriteHeader(up.resp.StatusCode)
	if r.Method == http.MethodHead {
		return up.resp.StatusCode
	}
	flush := isEventStream(up.resp.Header)
	rc := http.NewResponseController(w)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := up.resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				lg.err = werr
				return up.resp.StatusCode
			}
			if flush {
				rc.Flush() //nolint:errcheck // a failed flush shows up as a failed write
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
