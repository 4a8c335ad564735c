package proxy

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/codexgate/codexgate/shared/sse"
)

// relayFront answers a translating front's request from the upstream
// answer through its converter.
func (p *Proxy) relayFront(w http.ResponseWriter, in *inbound, up *upstreamAnswer, lg *reqLog) int {
	switch {
	case up.sse == nil:
		// An answer failover did not take (400, 404, 422, or a 200 that is
		// no event stream): the client gets it as an error.
		ae := upstreamRefusal(up.resp)
		lg.err = ae
		return p.writeError(w, ae)
	case in.stream:
		return p.relayConverted(w, in, up, lg)
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

// relayConverted streams the converted events, sending the output of each
// batch of upstream events that produced any.
func (p *Proxy) relayConverted(w http.ResponseWriter, in *inbound, up *upstreamAnswer, lg *reqLog) int {
	conv := in.conv
	copyResponseHeader(w.Header(), up.resp.Header)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	sw := p.newStreamWriter(w, in.ping)
	defer sw.stop()
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
			if werr := sw.send(out); werr != nil {
				lg.err = werr
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
			sw.send(conv.streamError(out, errIncomplete)) //nolint:errcheck // the client may be gone too
			return http.StatusOK
		}
		batch, err = up.sse.next()
	}
}

// aggregateConverted reads the whole upstream stream and answers the
// front's single object, or the failure as an error.
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
			var ae *apiError
			switch {
			case errors.As(rerr, &ae):
				lg.err = ae // the failure the front read from the stream
				return p.writeError(w, ae)
			case rerr != nil:
				lg.err = rerr
				return p.writeError(w, errIncomplete)
			}
			return writeJSON(w, up.resp.Header, body)
		}
		if err != nil {
			lg.err = errors.Join(errIncomplete, err)
			return p.writeError(w, errIncomplete)
		}
		raw, err = up.sse.nextEvent()
	}
}
