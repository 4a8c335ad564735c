package lambdaproxy

import (
	"io"
	"net/http"
	"sync"
)

// responseWriter is the http.ResponseWriter the handler writes to. The
// status and headers are handed over once, when first written (or flushed);
// the body goes through an io.Pipe, so every Write reaches the Lambda
// runtime as it happens and Flush has nothing to add.
type responseWriter struct {
	header http.Header
	body   *io.PipeWriter
	once   sync.Once
	ready  chan<- prelude // buffered, receives exactly one value
}

// prelude is the status and a snapshot of the headers.
type prelude struct {
	status int
	header http.Header
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)

func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader commits the status and headers. Informational statuses
// (1xx) are not supported by the streaming integration and are ignored.
func (w *responseWriter) WriteHeader(status int) {
	if status < 200 {
		return
	}
	w.commit(status)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.commit(http.StatusOK)
	if len(p) == 0 {
		return 0, nil
	}
	return w.body.Write(p)
}

// Flush commits the headers if needed; the pipe itself does not buffer.
func (w *responseWriter) Flush() { w.commit(http.StatusOK) }

func (w *responseWriter) commit(status int) {
	w.once.Do(func() {
		w.ready <- prelude{status: status, header: w.header.Clone()}
	})
}
