// Command codexgate is the operator CLI and local server of codexgate:
// it onboards ChatGPT accounts (import, login), manages client API keys,
// shows account health and quota, forces refreshes through the shared
// refresh routine, and serves the proxy locally (serve). See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
