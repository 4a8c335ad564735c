package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// server is a running `codexgate serve`.
type server struct {
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan error
	logs *testsupport.Buffer
}

var servingLine = regexp.MustCompile(`^codexgate serving on (http://[^ ]+)/v1 `)

// startServe starts `codexgate serve --addr 127.0.0.1:0` and waits for the
// line naming its URL. Cleanup kills it if the test did not stop it.
func (s *stack) startServe() *server {
	s.t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = s.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &server{cmd: cmd, done: make(chan error, 1), logs: &testsupport.Buffer{}}
	cmd.Stderr = srv.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd.Process.Kill()
		<-srv.done
		if s.t.Failed() {
			s.t.Logf("codexgate serve stderr:\n%s", srv.logs)
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		srv.done <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		m := servingLine.FindStringSubmatch(line)
		if m == nil {
			s.t.Fatalf("unexpected first line from serve: %q", line)
		}
		srv.base = m[1]
	case <-time.After(30 * time.Second):
		s.t.Fatalf("serve did not start; stderr:\n%s", srv.logs)
	}
	return srv
}

// serveOneAccount is `codexgate serve` with one imported account (account,
// on the simulator and in the table) and a key named keyName.
func serveOneAccount(t *testing.T, account, keyName string) (*stack, *server, string, openaisim.Tokens) {
	t.Helper()
	s := newStack(t, openaisim.Options{})
	file, tok := s.newLogin(openaisim.Account{Name: account})
	mustSucceed(t, s.run("import", "--account", account, "--auth-file", file))
	key := s.createKey(keyName)
	return s, s.startServe(), key, tok
}

// stop sends SIGINT and waits for a clean exit.
func (srv *server) stop(t *testing.T) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err // for Cleanup
		if err != nil {
			t.Fatalf("serve exited with %v after SIGINT; stderr:\n%s", err, srv.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of SIGINT")
	}
}

// createKey runs `codexgate keys create` and returns the printed key.
func (s *stack) createKey(name string) string {
	s.t.Helper()
	r := s.run("keys", "create", "--name", name)
	mustSucceed(s.t, r)
	key := strings.TrimSpace(r.stdout)
	if strings.Contains(key, "\n") || len(key) < 20 {
		s.t.Fatalf("keys create stdout = %q, want the key alone on one line", r.stdout)
	}
	return key
}

// responsesBody is a minimal Responses API request the strict backend accepts.
const responsesBody = `{"model":"gpt-5.1-codex","instructions":"You are a helpful assistant.","input":[{"role":"user","content":[{"type":"input_text","text":"say hi"}]}],"stream":true,"store":false}`

func post(t *testing.T, url, key, body string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// postRead is post with the body read and closed.
func postRead(t *testing.T, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	resp := post(t, url, key, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestServe_StreamsResponses(t *testing.T) {
	s, srv, key, tok := serveOneAccount(t, "dave", "test")

	resp := post(t, srv.base+"/v1/responses", key, responsesBody)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/responses: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var text strings.Builder
	var completed bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type  string `json:"type"`
			Delta string `json:"delta"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("bad SSE data %q: %v", data, err)
		}
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			completed = true
		}
	}
	if text.String() != openaisim.DefaultAnswer || !completed {
		t.Fatalf("streamed text %q (completed %v), want %q", text.String(), completed, openaisim.DefaultAnswer)
	}

	// Non-streaming clients get the response.completed object.
	resp2 := post(t, srv.base+"/v1/responses", key, strings.Replace(responsesBody, `"stream":true`, `"stream":false`, 1))
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(openaisim.DefaultAnswer)) {
		t.Fatalf("non-streaming: %d %s", resp2.StatusCode, b)
	}

	// No key, wrong key: 401 in OpenAI's error shape.
	for _, k := range []string{"", "cg-wrong"} {
		resp, b := postRead(t, srv.base+"/v1/responses", k, responsesBody)
		if resp.StatusCode != http.StatusUnauthorized || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("key %q: %d %s", k, resp.StatusCode, b)
		}
	}

	// GET /v1/models answers through the same account.
	req, _ := http.NewRequest(http.MethodGet, srv.base+"/v1/models", nil)
	req.Header.Set("x-api-key", key)
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("gpt-5.1-codex")) {
		t.Errorf("GET /v1/models: %d %s", mresp.StatusCode, b)
	}

	srv.stop(t)
	logs := srv.logs.String()
	for _, secret := range []string{key, tok.AccessToken, tok.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Fatalf("serve logs leak a secret (%.8s…)", secret)
		}
	}
	if st := s.sim.Stats(); st.ResponsesOK != 2 {
		t.Errorf("sim started %d responses, want 2", st.ResponsesOK)
	}
}

func TestServe_AddrInUse(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	srv := s.startServe()
	addr := strings.TrimPrefix(srv.base, "http://")
	r := s.run("serve", "--addr", addr)
	mustFail(t, r, 1, "address already in use")
	srv.stop(t)
}
