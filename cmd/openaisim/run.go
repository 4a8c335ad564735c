package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// errHelp reports that --help was served; main exits 0 on it.
var errHelp = flag.ErrHelp

// config is the parsed command line.
type config struct {
	addr, authDir, readyFile, answer string
	accounts                         int
	accessTTL, refreshTTL, latency   time.Duration
	keepOnReuse, strictOldAccess     bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("openaisim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: openaisim [flags]\n\nRuns the strict OpenAI simulator (token, authorize, Codex backend, usage, /_sim/ control API).\n\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free port; the URL is printed)")
	fs.IntVar(&c.accounts, "accounts", 0, "number of accounts to create at start (account1..accountN)")
	fs.StringVar(&c.authDir, "auth-dir", "", "directory to write <account-name>.auth.json for each created account (mode 0600)")
	fs.StringVar(&c.readyFile, "ready-file", "", "file to write the base URL to once listening")
	fs.DurationVar(&c.accessTTL, "access-ttl", time.Hour, "access token lifetime")
	fs.DurationVar(&c.refreshTTL, "refresh-ttl", 0, "refresh token lifetime (0 = never expires)")
	fs.BoolVar(&c.keepOnReuse, "keep-family-on-reuse", false, "do not revoke the whole login when a spent refresh token is reused (OpenAI does)")
	fs.BoolVar(&c.strictOldAccess, "strict-old-access", false, "reject access tokens superseded by a refresh")
	fs.DurationVar(&c.latency, "latency", 0, "extra latency per request")
	fs.StringVar(&c.answer, "answer", openaisim.DefaultAnswer, "assistant text streamed by /responses")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.accounts > 0 && c.authDir == "" {
		return c, errors.New("--accounts needs --auth-dir to hand out the tokens")
	}
	return c, nil
}

// run serves the simulator until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	sim := openaisim.New(openaisim.Options{
		AccessTTL:         c.accessTTL,
		RefreshTTL:        c.refreshTTL,
		KeepFamilyOnReuse: c.keepOnReuse,
		StrictOldAccess:   c.strictOldAccess,
		Latency:           c.latency,
		Answer:            c.answer,
	})
	if err := createAccounts(sim, c, stderr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if c.readyFile != "" {
		if err := writeAtomic(c.readyFile, []byte(base+"\n")); err != nil {
			srv.Close()
			return fmt.Errorf("write ready file: %w", err)
		}
	}
	fmt.Fprintf(stdout, "openaisim listening on %s\n", base)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	return nil
}

func createAccounts(sim *openaisim.Sim, c config, stderr io.Writer) error {
	if c.accounts <= 0 {
		return nil
	}
	if err := os.MkdirAll(c.authDir, 0o700); err != nil {
		return fmt.Errorf("create auth dir: %w", err)
	}
	for i := 1; i <= c.accounts; i++ {
		name := fmt.Sprintf("account%d", i)
		t := sim.AddAccount(openaisim.Account{Name: name})
		path := filepath.Join(c.authDir, name+".auth.json")
		if err := os.WriteFile(path, sim.AuthJSON(t), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Chmod(path, 0o600); err != nil { // WriteFile keeps an existing file's mode
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		fmt.Fprintf(stderr, "openaisim: account %s id=%s auth=%s\n", name, t.AccountID, path)
	}
	return nil
}

// writeAtomic writes via a temporary file and a rename, so a script polling
// for the file never reads it half written.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
