package app

import (
	"os"

	"github.com/codexgate/codexgate/shared/console"
	"github.com/codexgate/codexgate/shared/proxy"
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
