// Command codexgate is the operator CLI and local server of codexgate:
// it onboards ChatGPT accounts (import, login), manages client API keys,
// shows account health and quota, forces refreshes through the shared
// refresh routine, and serves the proxy locally (serve). See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// The first SIGINT/SIGTERM cancels the command, which then finishes any
// refresh in flight (its rotated token exists only in this process until
// stored); a second one exits at once, saying what that may cost.
func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	go func() {
		<-sigs
		cancel()
		<-sigs
		if n := m.RefreshesInFlight(); n > 0 {
			fmt.Fprintf(os.Stderr, "codexgate: WARNING: forced exit with %d token refresh(es) unfinished: a rotated refresh token may be lost and its account need `codexgate login`\n", n)
		}
		os.Exit(130)
	}()
	os.Exit(m.Run(ctx, os.Args[1:]))
}
