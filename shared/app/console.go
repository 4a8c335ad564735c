package app

import (
	"net/http"
	"os"
	"time"

	"github.com/codexgate/codexgate/shared/console"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/scheduled"
	"github.com/codexgate/codexgate/shared/usage"
	"github.com/codexgate/codexgate/shared/version"
)

// Console builds the operator console (GET /status, GET /v1/admin/status)
// over the app's parts and p's account list; runtime is "lambda" or
// "serve". Mount it in front of p with console.Mount.
func (a *App) Console(p *proxy.Proxy, runtime string) *console.Handler {
	dep := console.Deployment{Version: version.String(), Runtime: runtime, Region: a.AWS.Region}
	if runtime == "lambda" {
		dep.MemoryMB = os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
	}
	return &console.Handler{
		Keys: a.States,
		Status: &console.Source{
			Store:      a.States,
			Accounts:   a.Accounts,
			Logins:     a.Secrets,
			Budgets:    a.Leases,
			Deployment: dep,
			LoadedAt:   p.AccountsLoadedAt,
		},
		Logger: a.Logger,
	}
}

// QuotaCron builds the quota poll over the app's parts: the quota-cron
// function runs it on a schedule, `codexgate serve` at start and every 15
// minutes. w receives its metrics (nil: none).
func (a *App) QuotaCron(w *metrics.Writer) *scheduled.QuotaCron {
	return &scheduled.QuotaCron{
		Accounts: a.Accounts,
		Tokens:   a.Refresher,
		Usage:    &usage.Client{URL: a.Config.UsageURL, HTTP: &http.Client{Transport: a.HTTP.Transport, Timeout: 20 * time.Second}},
		States:   a.States,
		Metrics:  w,
		Logger:   a.Logger,

		PerAccountMetrics: a.Config.DetailedMetrics,
	}
}
