// Command proxy is the Lambda behind the API Gateway REST API (response
// streaming): package proxy through the adapter in package lambdaproxy.
package main

import (
	"context"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/lambdaproxy"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/proxy/awsstores"
)

func main() {
	ctx := context.Background()
	a, err := app.FromEnv(ctx)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	p, err := proxy.New(proxy.Config{
		UpstreamURL: a.Config.UpstreamURL,
		Tokens:      a.Refresher,
		Keys:        awsstores.Keys{Store: a.States},
		Accounts:    a.Secrets,
		States:      awsstores.States{Store: a.States},
		Transport:   a.HTTP.Transport,
		Logger:      a.Logger,
	})
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second) // init phase: load the pool before the first request
	p.Warm(wctx)                                            //nolint:errcheck // logged by the pool; retried on demand
	cancel()
	lambda.Start(lambdaproxy.Handler(p))
}
