// Command openaisim runs the strict OpenAI simulator (package openaisim) as
// its own process, for e2e tests with the real Codex CLI, `make dev`'s demo
// mode and `make bench`. It prints "openaisim listening on http://HOST:PORT"
// and serves until SIGINT or SIGTERM; drive it through /_sim/ (see the
// package documentation).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(os.Stderr, "openaisim:", err)
			os.Exit(1)
		}
	}
}
