package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/codexgate/codexgate/shared/version"
)

// VersionCommand prints the release this binary was built from.
type VersionCommand struct{ m *Main }

// Run executes `codexgate version`.
func (c *VersionCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "version", "codexgate version",
		"Prints the codexgate release this binary was built from (set by make build and make release;\n"+
			"a plain go build says <release>-dev and its commit), the Go version and the platform.")
	if err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "codexgate %s (%s %s/%s)\n", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
