package simworld

import (
	"context"
	"fmt"
	"log/slog"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/config"
)

// ContainerEnv is the environment a container process (a test binary re-run
// as a separate OS process) needs to reach this world.
func (w *World) ContainerEnv() []string {
	return []string{
		"CODEXGATE_TABLE=" + w.Table,
		"CODEXGATE_SECRET_PREFIX=" + w.Prefix,
		"CODEXGATE_TOKEN_URL=" + w.TokenURL(),
	}
}

// Container is the options of a container process's Refresher.
type Container struct {
	// KillAt, when set, makes the process exit with code 3 just before that
	// AWS call ("UpdateItem#3", see awsfault.ExitBefore).
	KillAt string
	// Lease, when set, wraps the real lease: negative controls replace it
	// with one that excludes nothing.
	Lease func(codex.Leaser) codex.Leaser
	// Options are added to the Refresher's (logs are discarded).
	Options []codex.Option
}

// Refresher builds, inside a container process, the Refresher the parent's
// World described in ContainerEnv, wired as every main wires it: its own
// AWS clients and cache.
func (c Container) Refresher(ctx context.Context) (*codex.Refresher, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	if c.KillAt != "" {
		if cfg, err = awsfault.ExitBefore(cfg, c.KillAt, 3); err != nil {
			return nil, err
		}
	}
	conf, err := config.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	a, err := app.New(ctx, conf, app.Options{
		AWS:              &cfg,
		Logger:           slog.New(slog.DiscardHandler),
		RefresherOptions: c.Options,
	})
	if err != nil {
		return nil, fmt.Errorf("container: %w", err)
	}
	if c.Lease != nil {
		return a.NewRefresher(c.Lease(a.Leases), c.Options...), nil
	}
	return a.Refresher, nil
}
