package proxy_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/proxy"
)

// Example wires the proxy as a local HTTP server, as `codexgate serve`
// does. In production Tokens is the one *codex.Refresher, Keys and States
// come from package awsstores and Accounts is the secretstore.
func Example() {
	var (
		tokens   codex.TokenSource   // e.g. app.Refresher
		keys     proxy.KeyVerifier   // e.g. awsstores.Keys{Store: app.States}
		accounts proxy.AccountLister // e.g. app.Secrets
		states   proxy.StateStore    // e.g. awsstores.States{Store: app.States}
	)
	p, err := proxy.New(proxy.Config{
		UpstreamURL: "https://chatgpt.com/backend-api/codex",
		Tokens:      tokens,
		Keys:        keys,
		Accounts:    accounts,
		States:      states,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Warm(ctx); err != nil {
		log.Print(err) // loaded again on the first request
	}
	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: a Codex turn streams for minutes.
	}
	log.Fatal(srv.ListenAndServe())
}
