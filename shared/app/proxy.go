package app

import (
	"fmt"

	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/proxy/awsstores"
)

// Proxy builds the proxy core over the app's parts: the one Refresher for
// tokens, the state table for keys, the account registry, health,
// cooldowns and quota (the registry and the states from one Query). Both front doors (the Lambda function and
// `codexgate serve`) use it.
func (a *App) Proxy() (*proxy.Proxy, error) {
	shared := &awsstores.SharedLoad{StateAPI: a.States}
	p, err := proxy.New(proxy.Config{
		UpstreamURL:  a.Config.UpstreamURL,
		Tokens:       a.Refresher,
		Keys:         awsstores.Keys{Store: awsstores.ClientKeys{Store: a.States}}, // admin keys serve no client
		Accounts:     awsstores.Accounts{Load: shared, Registry: a.Accounts},
		States:       awsstores.States{Store: shared},
		Usage:        awsstores.Usage{Store: a.States, Metrics: a.Metrics, Retention: a.Config.UsageRetention, ByKey: a.Config.DetailedMetrics},
		Budgets:      awsstores.Budgets{Store: a.States},
		BudgetEvents: metrics.BudgetEvents{W: a.Metrics},
		Transport:    a.HTTP.Transport,
		Logger:       a.Logger,

		AvailabilityEvents: metrics.AvailabilityEvents{W: a.Metrics},

		ClaudeModels: a.Config.ClaudeModels,

		Strategy:   a.Config.RoutingStrategy,
		ModelNames: a.Config.ModelNames,
	})
	if err != nil {
		return nil, fmt.Errorf("build proxy: %w", err)
	}
	return p, nil
}
