package sdkhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// heldConn passes writes through to the socket, but a write of request body
// bytes (any write not starting a request) returns only once release is
// closed: the server has the whole request and answers while net/http's
// writer is still inside the body copy, as on a loaded machine.
type heldConn struct {
	net.Conn
	release <-chan struct{}
}

func (c *heldConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if !bytes.HasPrefix(p, []byte("POST ")) {
		<-c.release
	}
	return n, err
}

// TestWrap_Do_BodyClosedEarlyKeepsConnection drives smithy-go's own client
// handler (which closes the request body once the response headers are in)
// through a real http.Transport, with the request writer held inside the
// body copy until the handler has returned. Unwrapped, the writer then sees
// io.EOF from the closed body, counts the request write as failed and
// closes the connection under the unread response body: the SDK's
// "use of closed network connection". Wrapped, the write succeeds and the
// response body reads to the end.
func TestWrap_Do_BodyClosedEarlyKeepsConnection(t *testing.T) {
	const answer = `{"Name":"codexgate/accounts/work"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Errorf("server: read request body: %v", err)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // headers first, body in a later write
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		wrap      bool
		wantWrite error // what net/http reports for the request write
	}{
		// Negative control: the SDK's client as is. If this starts passing
		// with nil, smithy-go no longer answers WriteTo with io.EOF after
		// Close and Wrap can go.
		{name: "unwrapped", wrap: false, wantWrite: io.EOF},
		{name: "wrapped", wrap: true, wantWrite: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			release := make(chan struct{})
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &heldConn{Conn: c, release: release}, nil
			}}
			defer tr.CloseIdleConnections()
			var c aws.HTTPClient = &http.Client{Transport: tr}
			if tt.wrap {
				c = Wrap(c)
			}

			wrote := make(chan error, 1)
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				WroteRequest: func(i httptrace.WroteRequestInfo) { wrote <- i.Err },
			})
			req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
			req.Method = http.MethodPost
			req.URL = u
			body := `{"SecretId":"codexgate/accounts/work","VersionStage":"AWSCURRENT"}`
			req.ContentLength = int64(len(body))
			if req, err = req.SetStream(strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}

			out, _, err := smithyhttp.NewClientHandler(c).Handle(ctx, req)
			close(release) // the handler has returned and closed the request body
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			resp := out.(*smithyhttp.Response)
			defer resp.Body.Close()

			select {
			case err := <-wrote:
				if !errors.Is(err, tt.wantWrite) || (err == nil) != (tt.wantWrite == nil) {
					t.Fatalf("request write error = %v, want %v", err, tt.wantWrite)
				}
			case <-ctx.Done():
				t.Fatal("the request write never finished")
			}
			if !tt.wrap {
				return // the connection is closed or closing; reading races
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || string(got) != answer {
				t.Fatalf("response body = %q, %v; want %q", got, err, answer)
			}
		})
	}
}

func TestWrap_Twice(t *testing.T) {
	once := Wrap(nil)
	if twice := Wrap(once); twice != once {
		t.Errorf("Wrap(Wrap(c)) = %#v, want the same client %#v", twice, once)
	}
}
