package reliability

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/codex"
)

// Refresher timeouts for the run: a killed holder's lease runs out in
// seconds (production: OAuth 20 s-ish, lease 45 s).
const (
	oauthTimeout   = 2 * time.Second
	persistTimeout = 2 * time.Second
	leaseTTL       = 7 * time.Second
)

// soakRate is the soak's refresh budget: the soak forces a refresh of each
// account every few seconds (far beyond production's forced refreshes), which
// the default budget (codex.DefaultRefreshRate) would rightly refuse after its burst.
// The budget's own row shows the default refusing.
var soakRate = codex.RefreshRate{Burst: 10000, Every: 100 * time.Millisecond}

// probeRate lets the tokens-lost probe refresh even an account whose budget
// a row spent: an operator's refresh an hour later would be allowed too.
var probeRate = codex.RefreshRate{Burst: 10000, Every: time.Millisecond}

// world is a simworld.World whose containers are child processes of this
// test binary.
type world struct{ *simworld.World }

func newWorld(t *testing.T) world { return world{simworld.New(t, openaisim.Options{})} }

// refresher is one container's Refresher with the run's timeouts; cfg nil
// means plain clients.
func (w world) refresher(cfg *aws.Config) *codex.Refresher {
	return w.Refresher(cfg, codex.WithTimeouts(oauthTimeout, persistTimeout, leaseTTL))
}

// probe is the tokens-lost check on what is stored: a fresh container forces
// a refresh from it. It returns 1 when that ends in reauth_required (the
// login is gone), and the probe's own error otherwise.
func (w world) probe(account string) (lost int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r := w.Refresher(nil, codex.WithTimeouts(oauthTimeout, persistTimeout, leaseTTL), codex.WithRefreshRate(probeRate))
	c, err := r.AccessToken(ctx, account, codex.AccessOptions{})
	if errors.Is(err, codex.ErrReauthRequired) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	_, err = r.AccessToken(ctx, account, codex.AccessOptions{Force: true, Rejected: c.Access})
	if errors.Is(err, codex.ErrReauthRequired) {
		return 1, nil
	}
	return 0, err
}

// child returns the command for one container process (this test binary
// re-executed in child mode).
func (w world) child(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), w.ContainerEnv()...),
		"CODEXGATE_RELIABILITY_CHILD="+mode,
		"CODEXGATE_SIM_URL="+w.URL,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// settle fills r's counters from the simulator once the row's callers are
// done (before the probe's own refresh), and counts tokens lost: logins the
// simulator revoked (a reuse revokes the whole login, as OpenAI does),
// counted after the probe, or, when larger, accounts whose probe ended in
// reauth_required.
func (w world) settle(r *Row, accounts ...string) {
	st := w.Sim.Stats()
	r.Refreshes, r.Reuse = st.Refreshes, st.ReuseRejections
	probed := 0
	for _, a := range accounts {
		lost, err := w.probe(a)
		probed += lost
		if err != nil {
			r.Err = strings.TrimSpace(r.Err + " probe " + a + ": " + err.Error())
		}
	}
	r.TokensLost = max(probed, w.Sim.Stats().LoginsRevoked)
}
