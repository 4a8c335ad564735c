// Command refresh is the Lambda that keeps access tokens fresh on a schedule
// and forces a refresh on a manual invoke (see package scheduled).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/scheduled"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatalf("refresh: %v", err)
	}
	h := &scheduled.KeepAlive{
		Accounts: a.Accounts,
		Stored:   a.Secrets,
		Tokens:   a.Refresher,
		States:   a.States,
		Window:   a.Config.RefreshWindow,
		Metrics:  metrics.New(nil),
		Logger:   a.Logger,
	}
	lambda.Start(func(ctx context.Context, in scheduled.RefreshRequest) (scheduled.RefreshResult, error) {
		res, err := h.Handle(ctx, in)
		a.WaitEvents(ctx) //nolint:errcheck // best effort: the invocation's deadline bounds it
		return res, err
	})
}
