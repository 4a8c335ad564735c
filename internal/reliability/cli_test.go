package reliability

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// cliInterruptRow (issue 13 item 4): the built CLI runs `codexgate refresh
// --force` while the token endpoint answers after 3 s, and gets SIGINT once
// the request is there, as a Ctrl-C would: from then on OpenAI may rotate and
// the new refresh token exists only in that process. The promise: it
// finishes storing before it exits, and says so. cmd/codexgate's tests hold
// the negative control (a second interrupt forces exit; the login is lost).
func cliInterruptRow(t *testing.T, add func(Row)) {
	r := Row{Section: promiseSection, Name: "4. `codexgate refresh --force` (the built CLI) gets SIGINT while its OAuth request is at the token endpoint (answer delayed 3 s)", Requests: 1}
	bin, err := testsupport.GoBuild(t, "./cmd/codexgate")
	if err != nil {
		r.Err = err.Error()
		add(r)
		return
	}
	w := newWorld(t)
	w.ImportExpiring(t, "main", "acct-cli")
	w.Sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 3 * time.Second, Count: 1})
	cmd := exec.Command(bin, "refresh", "--account", "main", "--force")
	cmd.Env = cliEnv(w.World)
	var stderr testsupport.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	simworld.WaitUntil(t, "the refresh to reach the token endpoint", func() bool { return w.Sim.Stats().FaultsApplied >= 1 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		r.Err = "the CLI did not exit within 3 min of SIGINT"
		<-done
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		r.Err = strings.TrimSpace(r.Err + " " + err.Error())
	}
	said := strings.Contains(stderr.String(), "finishing a token refresh")
	w.settle(&r, "main")
	if r.Refreshes == 1 && r.Reuse == 0 && r.TokensLost == 0 {
		r.Served = 1 // its rotated token was stored: the probe spent it without a reuse
	}
	r.Why = fmt.Sprintf("Exit status %d after SIGINT; said it was finishing the refresh: %v. Its rotated token was stored (the probe's forced refresh spent it without a reuse).", code, said)
	r.Expected = said && r.Served == 1 && r.Reuse == 0 && r.TokensLost == 0 && r.Reauth == 0 && r.Err == ""
	add(r)
}

// cliEnv is the environment of a CLI process in w: this process's, without
// its CODEXGATE_ settings (the stack's URL kept), plus w's.
func cliEnv(w *simworld.World) []string {
	return append(testsupport.Environ(), w.ContainerEnv()...)
}
