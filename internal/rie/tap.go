package rie

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Tap is a recording hop between a bootstrap and the emulator's runtime
// API: it notes when the bootstrap's answer to an invocation began and
// ended, where the Lambda service sees them. The emulator cannot show this
// to its own client: it reads a streamed answer whole before its invoke
// endpoint sends a byte (aws-lambda-runtime-interface-emulator issue #175),
// so what a client of the emulator sees as the first byte is the end of the
// invocation.
type Tap struct {
	l   net.Listener
	srv *http.Server

	mu   sync.Mutex
	last Answer // of the latest invocation
}

// Answer is one invocation as the runtime API saw it, on this process's
// clock.
type Answer struct {
	Delivered time.Time // the bootstrap's /next returned the event
	FirstByte time.Time // first byte of the body (after a streamed answer's prelude)
	LastByte  time.Time // last byte of the body
	End       time.Time // the bootstrap ended its answer: the invocation is over
	Bytes     int64     // of the body, prelude excluded
}

// streamedType is the content type of an answer in the streaming
// integration's framing: a JSON prelude, eight NUL bytes, the body.
const streamedType = "application/vnd.awslambda.http-integration-response"

// startTap listens on a free loopback port and forwards to the runtime API
// at api.
func startTap(api string) (*Tap, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API tap: %w", err)
	}
	t := &Tap{l: l}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: api})
	rp.FlushInterval = -1
	// The bootstrap's last /next fails when the container stops: not news.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasSuffix(resp.Request.URL.Path, "/invocation/next") && resp.StatusCode == http.StatusOK {
			t.mu.Lock()
			t.last = Answer{Delivered: time.Now()}
			t.mu.Unlock()
		}
		return nil
	}
	t.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/response") {
			r.Body = &answerBody{r: r.Body, t: t, streamed: r.Header.Get("Content-Type") == streamedType}
		}
		rp.ServeHTTP(w, r)
	})}
	go t.srv.Serve(l) //nolint:errcheck // ends with Close
	return t, nil
}

// Addr is the host:port the bootstrap should take for its runtime API.
func (t *Tap) Addr() string { return t.l.Addr().String() }

// Last returns the latest invocation's answer. An invocation's answer is
// complete by the time the emulator's invoke call returns.
func (t *Tap) Last() Answer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *Tap) close() { t.srv.Close() }

// answerBody times a bootstrap's answer as the tap forwards it.
type answerBody struct {
	r        io.ReadCloser
	t        *Tap
	streamed bool
	prelude  []byte // a streamed answer's bytes until its NULs were seen
	inBody   bool
}

func (b *answerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	now := time.Now()
	body := p[:n]
	if b.streamed && !b.inBody {
		b.prelude = append(b.prelude, body...)
		i := bytes.Index(b.prelude, preludeEnd)
		if i < 0 {
			body = nil
		} else {
			b.inBody = true
			body = b.prelude[i+len(preludeEnd):]
		}
	}
	b.t.mu.Lock()
	if len(body) > 0 {
		if b.t.last.FirstByte.IsZero() {
			b.t.last.FirstByte = now
		}
		b.t.last.LastByte = now
		b.t.last.Bytes += int64(len(body))
	}
	if errors.Is(err, io.EOF) {
		b.t.last.End = now
	}
	b.t.mu.Unlock()
	return n, err
}

func (b *answerBody) Close() error { return b.r.Close() }

// tapWrapper writes a script that runs bootstrap with its runtime API set to
// the tap (the emulator sets AWS_LAMBDA_RUNTIME_API to its own address).
func tapWrapper(bootstrap, tapAddr string) (string, error) {
	dir, err := os.MkdirTemp("", "rie-tap")
	if err != nil {
		return "", fmt.Errorf("runtime API tap: %w", err)
	}
	path := filepath.Join(dir, "bootstrap")
	script := fmt.Sprintf("#!/bin/sh\nAWS_LAMBDA_RUNTIME_API=%s exec '%s' \"$@\"\n", tapAddr, strings.ReplaceAll(bootstrap, "'", `'\''`))
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("runtime API tap: %w", err)
	}
	return path, nil
}
