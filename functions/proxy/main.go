// Command proxy is the Lambda behind the API Gateway REST API (response
// streaming): package proxy through the adapter in package lambdaproxy.
package main

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/console"
	"github.com/codexgate/codexgate/shared/lambdaproxy"
)

func main() {
	ctx := context.Background()
	a, err := app.FromEnv(ctx)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	p, err := a.Proxy()
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second) // init phase: load the pool before the first request
	p.Warm(wctx)                                            //nolint:errcheck // logged by the pool; retried on demand
	cancel()
	// A refresh left running when a client goes away, the request's usage
	// write and a refresh event's record finish before the invocation ends: Lambda freezes the
	// container then.
	// The operator console (GET /status, GET /v1/admin/status) in front.
	h := console.Mount(p, a.Console(p, "lambda"))
	lambda.Start(lambdaproxy.Handler(lambdaproxy.WaitAfter(h, func(ctx context.Context) error {
		return errors.Join(a.Refresher.Wait(ctx), p.Wait(ctx), a.WaitEvents(ctx))
	})))
}
