package reliability

import (
	"context"
	"errors"
	"os"
	"os/exec"
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

// world is a simworld.World whose containers are child processes of this
// test binary.
type world struct{ *simworld.World }

func newWorld(t *testing.T) world { return world{simworld.New(t, openaisim.Options{})} }

// refresher is one container's Refresher with the run's timeouts; cfg nil
// means plain clients.
func (w world) refresher(cfg *aws.Config) *codex.Refresher {
	return w.Refresher(cfg, codex.WithTimeouts(oauthTimeout, persistTimeout, leaseTTL))
}

// probe is the tokens-lost check: a fresh container forces a refresh from
// what is stored. It returns 1 when that ends in reauth_required (the login
// is gone), and the probe's own error otherwise.
func (w world) probe(account string) (lost int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r := w.refresher(nil)
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
