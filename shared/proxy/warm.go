package proxy

import (
	"context"
	"log/slog"

	"github.com/codexgate/codexgate/shared/codex"
)

// prefetch reads the access token of the account the next request without
// a session would get (the first by priority and strategy), so that a cold
// container's first request makes no secret read. It never forces a
// refresh; a token that needs one is refreshed by the request, as before (a
// Lambda's init deadline is too short for a refresh anyway: the routine
// refuses it).
func (p *Proxy) prefetch(ctx context.Context) {
	acct, probe, err := p.pool.pick("", nil, nil)
	if probe {
		p.pool.probeDone(acct) // a token read is no probe of the upstream
	}
	if err != nil || probe {
		return
	}
	if _, err := p.cfg.Tokens.AccessToken(ctx, acct, codex.AccessOptions{}); err != nil {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "prefetch access token", slog.String("account", acct), slog.String("error", err.Error()))
	}
}
