package lambdaproxy

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// The response (and so the invocation) ends only after the work h left
// running is done, even when the client went away.
func TestWaitAfter_ResponseEndsAfterTheWork(t *testing.T) {
	release := make(chan struct{})
	waited := make(chan struct{})
	h := WaitAfter(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("answer")) //nolint:errcheck
	}), func(ctx context.Context) error {
		close(waited)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, ev := loadEvent(t, "rest-models-query.json")
	resp, err := Handler(h)(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the client is gone: the work must still finish first
	body := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-waited
	select {
	case b := <-body:
		t.Fatalf("response ended (%q) before the work finished", b)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if b := <-body; b != "answer" {
		t.Fatalf("body = %q", b)
	}
}
