// Command quota-cron is the scheduled Lambda that snapshots every account's
// Codex usage (see package scheduled).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/scheduled"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatalf("quota-cron: %v", err)
	}
	h := a.QuotaCron(metrics.New(nil))
	lambda.Start(func(ctx context.Context, ev events.EventBridgeEvent) (scheduled.QuotaResult, error) {
		res, err := h.Handle(ctx, ev)
		a.WaitEvents(ctx) //nolint:errcheck // best effort: the invocation's deadline bounds it
		return res, err
	})
}
