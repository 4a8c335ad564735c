// Command quota-cron is the scheduled Lambda that snapshots every account's
// Codex usage (see package scheduled).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/metrics"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatalf("quota-cron: %v", err)
	}
	lambda.Start(a.QuotaCron(metrics.New(nil)).Handle)
}
