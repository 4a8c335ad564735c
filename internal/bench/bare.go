package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
)

// BareProxyName names the floor of docs/DESIGN.md §9 in reports.
const BareProxyName = "bare httputil.ReverseProxy"

var bareReady = regexp.MustCompile(`bare reverse proxy listening on (http://\S+)`)

// ServeBareProxy runs docs/DESIGN.md §9's floor until ctx ends: a plain
// httputil.ReverseProxy in front of upstream that streams (FlushInterval -1)
// and does nothing else — no keys, no validation, no refresh. It reads the
// request body before forwarding, as docs/DESIGN.md §9.2 explains: streamed
// straight through, a few answers in a hundred come back truncated
// (golang/go#40747). codexgate serve's CPU and latency are read against it.
func ServeBareProxy(ctx context.Context, addr, upstream string, out io.Writer) error {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("upstream %q: want a URL", upstream)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ErrorLog = nil
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rp.ServeHTTP(w, r)
	})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(out, "bare reverse proxy listening on http://%s\n", l.Addr())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// StartBareProxy runs ServeBareProxy in a child process (this program,
// `codexgate-bench reverse-proxy`), so that its CPU is measured on its own.
func StartBareProxy(upstream string) (*Proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startLine(self, []string{"reverse-proxy", "--upstream", upstream}, nil, bareReady, nil)
}
