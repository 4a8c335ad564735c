// Command quota-cron is the scheduled Lambda that snapshots every account's
// Codex usage (see package scheduled).
package main

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/scheduled"
	"github.com/codexgate/codexgate/shared/usage"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatalf("quota-cron: %v", err)
	}
	h := &scheduled.QuotaCron{
		Accounts: a.Accounts,
		Tokens:   a.Refresher,
		Usage:    &usage.Client{URL: a.Config.UsageURL, HTTP: &http.Client{Transport: a.HTTP.Transport, Timeout: 20 * time.Second}},
		States:   a.States,
		Metrics:  metrics.New(nil),
		Logger:   a.Logger,

		PerAccountMetrics: a.Config.DetailedMetrics,
	}
	// A refresh event the run recorded is stored before Lambda freezes
	// the container.
	lambda.Start(func(ctx context.Context, ev events.EventBridgeEvent) (scheduled.QuotaResult, error) {
		res, err := h.Handle(ctx, ev)
		a.WaitEvents(ctx) //nolint:errcheck // best effort: the invocation's deadline bounds it
		return res, err
	})
}
