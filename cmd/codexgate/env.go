package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/config"
)

// quiet is the log level of one-shot commands: their outcome is their
// output or their one-line error, so the library's logs stay off.
const quiet = slog.Level(100)

// loadApp wires codexgate from the environment: config.FromEnv, then the
// AWS SDK's default chain (which honours AWS_ENDPOINT_URL). It makes no AWS
// call. Logs go to stderr as text from level up; tokens are never logged.
func (m *Main) loadApp(ctx context.Context, level slog.Level) (*app.App, error) {
	stderr := m.Stderr
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var log *slog.Logger
	if level >= quiet {
		log = slog.New(slog.DiscardHandler)
	} else {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log, RecordEvents: true})
	if err != nil {
		return nil, err
	}
	if a.AWS.Region == "" {
		return nil, errors.New("no AWS region configured: set AWS_REGION (or a region in your AWS profile)")
	}
	m.mu.Lock()
	m.apps = append(m.apps, a)
	m.mu.Unlock()
	return a, nil
}

// parseThenLoad parses a command's flags, then loads the app quietly: the
// start of a command that reads the table and has nothing to check first.
func (m *Main) parseThenLoad(ctx context.Context, fs *flagSet, args []string) (*app.App, error) {
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	return m.loadApp(ctx, quiet)
}

// accountName is what an account may be called: it becomes the last part of
// a secret name and a table key, and appears in tables and logs.
var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkAccountName(cmd, name string) error {
	if !accountName.MatchString(name) {
		return usagef(cmd, "account name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// keyName is what a client API key may be called.
var keyName = accountName

// maskID shows enough of a ChatGPT account id to tell accounts apart
// without printing it whole.
func maskID(id string) string {
	switch {
	case id == "":
		return "-"
	case len(id) <= 8:
		return "****"
	default:
		return id[:4] + "****" + id[len(id)-4:]
	}
}

// orDash prints "-" for an empty value in tables.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
