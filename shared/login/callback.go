package login

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"time"
)

// Callback is the loopback HTTP server the browser is redirected to.
type Callback struct {
	flow    *Flow
	ln      net.Listener
	srv     *http.Server
	results chan result
}

type result struct {
	code string
	err  error
}

// Listen serves the flow's callback on addr (normally 127.0.0.1:<port>; the
// redirect URI names localhost, which browsers resolve to the loopback).
// An error means the port is taken: the caller falls back to pasting.
func (f *Flow) Listen(addr string) (*Callback, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("login: listen for the callback on %s: %w", addr, err)
	}
	c := &Callback{flow: f, ln: ln, results: make(chan result, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+CallbackPath, c.handle)
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed on Close
	return c, nil
}

// Addr is the address the callback listens on.
func (c *Callback) Addr() net.Addr { return c.ln.Addr() }

// Close stops the callback server.
func (c *Callback) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		return c.srv.Close()
	}
	return nil
}

func (c *Callback) handle(w http.ResponseWriter, r *http.Request) {
	code, err := c.flow.codeFromQuery(r.URL.Query())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	status, msg := http.StatusOK, "Login complete. codexgate is storing the account; you can close this window."
	if err != nil {
		status, msg = http.StatusBadRequest, "Login failed: "+err.Error()
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>codexgate login</title><p>%s</p>\n", html.EscapeString(msg))
	select {
	case c.results <- result{code, err}:
	default: // the waiter already has an answer
	}
}

// Wait returns the authorization code from whichever arrives first: the
// browser's redirect to cb (nil when the port could not be bound) or a
// callback URL pasted on paste (nil when there is no terminal). A callback
// whose state does not match, or a paste that is not a callback URL, is
// reported through notify and ignored, so a stale browser tab or a typo does
// not end the login; an authorization error with the right state does.
//
// The paste reader is read in a goroutine that ends only at EOF or on a
// line; for os.Stdin in a CLI that ends with the process.
func (f *Flow) Wait(ctx context.Context, cb *Callback, paste io.Reader, notify func(error)) (string, error) {
	if notify == nil {
		notify = func(error) {}
	}
	var cbResults <-chan result
	if cb != nil {
		cbResults = cb.results
	}
	var pasted <-chan result
	if paste != nil {
		ch := make(chan result, 1)
		pasted = ch
		go readPasted(f, paste, ch)
	}
	for {
		if cbResults == nil && pasted == nil {
			return "", errors.New("login: no callback listener and no terminal to paste the callback URL into")
		}
		var r result
		var ok bool
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("login: waiting for the browser: %w", ctx.Err())
		case r = <-cbResults:
			ok = true
		case r, ok = <-pasted:
			if !ok { // EOF: keep waiting for the browser alone
				pasted = nil
				continue
			}
		}
		switch {
		case r.err == nil:
			return r.code, nil
		case errors.Is(r.err, ErrDenied):
			return "", r.err
		default:
			notify(r.err)
		}
	}
}

// readPasted sends one result per non-empty line and closes ch at EOF.
func readPasted(f *Flow, paste io.Reader, ch chan<- result) {
	defer close(ch)
	sc := bufio.NewScanner(paste)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if len(line) == 0 {
			continue
		}
		code, err := f.CodeFrom(line)
		ch <- result{code, err}
		if err == nil {
			return
		}
	}
}
