package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/codexgate/codexgate/shared/login"
)

// LoginCommand creates a new ChatGPT login for an account with OAuth PKCE
// and stores it straight into the account's secret.
type LoginCommand struct{ m *Main }

// Run executes `codexgate login`.
func (c *LoginCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "login", "codexgate login --account NAME [--no-browser] [--callback-port 1455] [--replace]",
		"Logs account NAME in with ChatGPT, like `codex login`: opens the OpenAI sign-in page, receives\n"+
			"the browser's redirect on http://localhost:1455/auth/callback, exchanges the code and stores the\n"+
			"tokens directly in the account's secret (never on disk). On a remote shell, where the browser\n"+
			"cannot reach that port, paste the URL the browser ends up at (its address bar) and press Enter.")
	account := fs.String("account", "", "account name (letters, digits, '.', '_', '-')")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in URL instead of opening a browser")
	port := fs.Int("callback-port", login.DefaultPort, "loopback port of the redirect URI (OpenAI accepts only 1455 for the Codex client id)")
	replace := fs.Bool("replace", false, "store even if the ChatGPT account is stored under another name, or NAME holds another ChatGPT account")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the browser")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.require(map[string]string{"account": *account}); err != nil {
		return err
	}
	if err := checkAccountName("login", *account); err != nil {
		return err
	}
	if *port <= 0 || *port > 65535 {
		return usagef("login", "--callback-port %d out of range", *port)
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	flow, err := login.New(a.Config.AuthorizeURL, *port)
	if err != nil {
		return err
	}
	errw := c.m.Stderr
	cb, err := flow.Listen(fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(errw, "Port %d is not available (%v): after signing in, paste the URL your browser ends up at.\n", *port, err)
	} else {
		defer cb.Close()
	}
	fmt.Fprintf(errw, "Sign in to ChatGPT for account %q at:\n\n  %s\n\n", *account, flow.AuthorizeURL)
	fmt.Fprintf(errw, "Waiting for the browser to return to %s.\n", flow.RedirectURI)
	fmt.Fprintln(errw, "On a remote machine the browser shows an error page after sign-in: copy the whole URL from its address bar, paste it here and press Enter.")
	if !*noBrowser {
		if err := openBrowser(flow.AuthorizeURL); err != nil {
			fmt.Fprintf(errw, "(could not open a browser: %v; open the URL yourself)\n", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	code, err := flow.Wait(wctx, cb, c.m.Stdin, func(err error) {
		fmt.Fprintf(errw, "ignored: %s\n", oneLine(err.Error()))
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no sign-in within %s", *timeout)
		}
		return err
	}
	auth, err := flow.Exchange(ctx, a.OAuth, code, time.Now())
	if err != nil {
		return err
	}
	if _, err := storeLogin(ctx, a, c.m.Stderr, *account, auth, *replace); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "logged in account %s (%s)\n", *account, describeLogin(auth))
	return nil
}

// openBrowser starts the platform's URL opener without waiting for it.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // best effort; the URL is printed anyway
	return nil
}
