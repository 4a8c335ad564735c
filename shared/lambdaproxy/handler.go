package lambdaproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"
)

// Handler adapts h to a Lambda handler for an API Gateway REST proxy
// integration in RESPONSE_STREAM mode, for lambda.Start:
//
//	lambda.Start(lambdaproxy.Handler(h))
//
// The handler runs in its own goroutine. The response is returned as soon
// as h writes its headers or first byte (or returns); its Body then streams
// what h writes until h returns. A panic in h is logged and ends the stream
// with an error (before the headers: a 500); http.ErrAbortHandler is not
// logged, as in net/http.
func Handler(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (*events.APIGatewayProxyStreamingResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (*events.APIGatewayProxyStreamingResponse, error) {
		req, err := NewRequest(ctx, &ev)
		if err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		ready := make(chan prelude, 1)
		w := &responseWriter{header: http.Header{}, body: pw, ready: ready}
		go serve(h, w, req, pw)
		select {
		case p := <-ready:
			return response(p, pr), nil
		case <-ctx.Done():
			pr.CloseWithError(ctx.Err())
			return nil, ctx.Err()
		}
	}
}

// serve runs the handler and ends the body when it returns.
func serve(h http.Handler, w *responseWriter, req *http.Request, pw *io.PipeWriter) {
	defer func() {
		v := recover()
		if v == nil {
			w.commit(http.StatusOK) // a handler that wrote nothing answers 200
			pw.Close()
			return
		}
		if v != http.ErrAbortHandler {
			slog.ErrorContext(req.Context(), "lambdaproxy: handler panic",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
		w.commit(http.StatusInternalServerError)
		// The runtime reports a body read error to Lambda as a function
		// error (in the stream's trailers), so the client sees a broken
		// transfer, not a complete-looking answer.
		pw.CloseWithError(errors.New("lambdaproxy: handler aborted the response"))
	}()
	h.ServeHTTP(w, req)
}

// response builds the streaming response: every header in MultiValueHeaders
// (API Gateway merges the two maps and prefers the multi-value one), and the
// single-valued ones in Headers too, for readers of the prelude.
func response(p prelude, body io.Reader) *events.APIGatewayProxyStreamingResponse {
	r := &events.APIGatewayProxyStreamingResponse{StatusCode: p.status, Body: body}
	if len(p.header) == 0 {
		return r
	}
	r.Headers = make(map[string]string, len(p.header))
	r.MultiValueHeaders = make(map[string][]string, len(p.header))
	for k, vv := range p.header {
		r.MultiValueHeaders[k] = vv
		if len(vv) == 1 {
			r.Headers[k] = vv[0]
		}
	}
	return r
}
