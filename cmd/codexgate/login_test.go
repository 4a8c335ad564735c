package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// loginRun is a running `codexgate login`.
type loginRun struct {
	url   string // the authorize URL it printed
	stdin io.WriteCloser
	out   *testsupport.Buffer
	errs  *testsupport.Buffer
	done  chan error
}

// startLogin runs `codexgate login --no-browser` with args and waits for the
// sign-in URL on stderr.
func (s *stack) startLogin(args ...string) *loginRun {
	s.t.Helper()
	cmd := exec.Command(binary, append([]string{"login", "--no-browser", "--timeout", "30s"}, args...)...)
	cmd.Env = s.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	lr := &loginRun{stdin: stdin, out: &testsupport.Buffer{}, errs: &testsupport.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout = lr.out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			lr.errs.Write([]byte(line + "\n"))
			if u := strings.TrimSpace(line); strings.HasPrefix(u, "http") && strings.Contains(u, "/oauth/authorize?") {
				urls <- u
			}
		}
		lr.done <- cmd.Wait()
	}()
	select {
	case lr.url = <-urls:
	case err := <-lr.done:
		s.t.Fatalf("login exited early (%v): %s", err, lr.errs)
	case <-time.After(20 * time.Second):
		s.t.Fatalf("login printed no URL: %s", lr.errs)
	}
	return lr
}

func (lr *loginRun) wait(t *testing.T) result {
	t.Helper()
	select {
	case err := <-lr.done:
		r := result{stdout: lr.out.String(), stderr: lr.errs.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("login did not finish: %s", lr.errs)
		return result{}
	}
}

// TestLogin_Callback: the test is the browser. It opens the printed URL on
// the simulator, which redirects to the CLI's loopback callback.
func TestLogin_Callback(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	acct := s.sim.SetLoginAccount(openaisim.Account{Name: "erin", Email: "erin@example.com", Plan: "team"})
	port := testsupport.FreePort(t)
	lr := s.startLogin("--account", "erin", "--callback-port", strconv.Itoa(port))
	if !strings.Contains(lr.url, "redirect_uri=http%3A%2F%2Flocalhost%3A"+strconv.Itoa(port)+"%2Fauth%2Fcallback") {
		t.Errorf("authorize URL %s lacks the redirect URI for port %d", lr.url, port)
	}
	resp, err := http.Get(lr.url) // follows the 302 to the callback
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Login complete")) {
		t.Fatalf("browser landed on %d: %s", resp.StatusCode, page)
	}
	r := lr.wait(t)
	mustSucceed(t, r)
	if !strings.HasPrefix(r.stdout, "logged in account erin (") || !strings.Contains(r.stdout, "erin@example.com") {
		t.Errorf("stdout = %q", r.stdout)
	}
	rows := accountsJSON(t, s)
	if len(rows) != 1 || rows[0].Name != "erin" || rows[0].Plan != "team" || rows[0].AccountID != maskID(acct.ID) {
		t.Fatalf("accounts = %+v", rows)
	}
	// The stored login works: a forced refresh spends its refresh token.
	mustSucceed(t, s.run("refresh", "--account", "erin", "--force"))
	if st := s.sim.Stats(); st.CodeExchanges != 1 || st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Errorf("sim stats %+v", st)
	}
}

// TestLogin_Paste: the callback port is taken (a remote shell), so the user
// pastes the URL the browser ended up at; a wrong paste is ignored.
func TestLogin_Paste(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	s.sim.SetLoginAccount(openaisim.Account{Name: "frank"})
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	lr := s.startLogin("--account", "frank", "--callback-port", strconv.Itoa(port))

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(lr.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(callback, "code=") {
		t.Fatalf("authorize: %d Location %q", resp.StatusCode, callback)
	}
	io.WriteString(lr.stdin, "http://localhost:"+strconv.Itoa(port)+"/auth/callback?code=x&state=forged\n")
	io.WriteString(lr.stdin, callback+"\n")
	r := lr.wait(t)
	mustSucceed(t, r)
	if !strings.Contains(r.stderr, "is not available") || !strings.Contains(r.stderr, "ignored: login: callback state does not match") {
		t.Errorf("stderr = %s", r.stderr)
	}
	if rows := accountsJSON(t, s); len(rows) != 1 || rows[0].Name != "frank" {
		t.Fatalf("accounts = %+v", rows)
	}
}

// TestLogin_Denied: an authorization error ends the login with exit 1.
func TestLogin_Denied(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	lr := s.startLogin("--account", "gina", "--callback-port", strconv.Itoa(testsupport.FreePort(t)))
	u := lr.url
	state := u[strings.Index(u, "state=")+len("state="):]
	if i := strings.IndexByte(state, '&'); i >= 0 {
		state = state[:i]
	}
	io.WriteString(lr.stdin, "?error=access_denied&error_description=user+said+no&state="+state+"\n")
	r := lr.wait(t)
	if r.code != 1 || !strings.Contains(r.stderr, "codexgate login: login: authorization denied: access_denied: user said no") {
		t.Fatalf("want exit 1 with the denial, got %s", r)
	}
	if rows := accountsJSON(t, s); len(rows) != 0 {
		t.Fatalf("a denied login stored %+v", rows)
	}
}
