package lambdaproxy

import (
	"context"
	"log/slog"
	"net/http"
)

// WaitAfter returns a handler that runs h, then waits for wait before the
// request ends, bounded by the request's deadline (the invocation's) but
// not by its cancellation. Lambda freezes a container, background
// goroutines included, as soon as an invocation's response ends: a token
// refresh h started and left running (its client went away) would stop
// between OpenAI rotating the refresh token and the durable write, with the
// only copy frozen in memory while another container takes the lease over.
func WaitAfter(h http.Handler, wait func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		ctx := context.WithoutCancel(r.Context())
		if dl, ok := r.Context().Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl)
			defer cancel()
		}
		if err := wait(ctx); err != nil {
			slog.WarnContext(r.Context(), "lambdaproxy: invocation ends with work still running", slog.Any("error", err))
		}
	})
}
