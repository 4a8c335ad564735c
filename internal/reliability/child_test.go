package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/codex"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("CODEXGATE_RELIABILITY_CHILD"); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// childResult is what a child container reports on stdout.
type childResult struct {
	Requests int      `json:"requests"`
	Served   int      `json:"served"`
	Reauth   int      `json:"reauth"`
	Errors   []string `json:"errors"`
}

func runChild(mode string) int {
	ctx := context.Background()
	env := os.Getenv
	opts := []codex.Option{codex.WithTimeouts(oauthTimeout, persistTimeout, leaseTTL)}
	if mode == "proxy" || mode == "cron" {
		opts = append(opts, codex.WithRefreshRate(soakRate))
	}
	r, err := simworld.Container{KillAt: env("CODEXGATE_KILL_AT"), Options: opts}.Refresher(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var res childResult
	switch mode {
	case "kill":
		res.Requests = 1
		if _, err := r.AccessToken(ctx, env("CODEXGATE_ACCOUNT"), codex.AccessOptions{}); err != nil {
			res.Errors = append(res.Errors, err.Error())
		} else {
			res.Served = 1
		}
	case "proxy", "cron":
		d, _ := time.ParseDuration(env("CODEXGATE_SOAK"))
		res = soak(ctx, r, mode, strings.Split(env("CODEXGATE_ACCOUNTS"), ","), env("CODEXGATE_SIM_URL"), time.Now().Add(d))
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// soak runs callers until the deadline. Proxy-style: 3 workers, each takes a
// token, calls the usage endpoint with it, and on a 401 forces one refresh
// with the rejected token and replays once (as the proxy does). Cron-style:
// every 2–4 s forces a refresh of each account (the refresh function /
// `codexgate refresh --force`).
func soak(ctx context.Context, r *codex.Refresher, mode string, accounts []string, sim string, deadline time.Time) childResult {
	var mu sync.Mutex
	var res childResult
	record := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Requests++
		switch {
		case err == nil:
			res.Served++
		case errors.Is(err, codex.ErrReauthRequired):
			res.Reauth++
			fallthrough
		default:
			if len(res.Errors) < 5 {
				res.Errors = append(res.Errors, err.Error())
			}
		}
	}
	c := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	if mode == "cron" {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				time.Sleep(time.Duration(2000+rand.IntN(2000)) * time.Millisecond)
				for _, a := range accounts {
					_, err := r.AccessToken(ctx, a, codex.AccessOptions{Force: true})
					record(err)
				}
			}
		})
	} else {
		for range 3 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					record(proxyCall(ctx, r, c, sim, accounts[rand.IntN(len(accounts))]))
					time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
	return res
}

func proxyCall(ctx context.Context, r *codex.Refresher, c *http.Client, sim, account string) error {
	cr, err := r.AccessToken(ctx, account, codex.AccessOptions{})
	if err != nil {
		return err
	}
	status, err := usage(ctx, c, sim, cr)
	if err != nil || status == http.StatusOK {
		return err
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("usage: HTTP %d", status)
	}
	if cr, err = r.AccessToken(ctx, account, codex.AccessOptions{Force: true, Rejected: cr.Access}); err != nil {
		return err
	}
	if status, err = usage(ctx, c, sim, cr); err == nil && status != http.StatusOK {
		err = fmt.Errorf("usage after refresh: HTTP %d", status)
	}
	return err
}

func usage(ctx context.Context, c *http.Client, sim string, cr codex.Credentials) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sim+"/backend-api/wham/usage", nil)
	req.Header.Set("Authorization", "Bearer "+cr.Access)
	req.Header.Set("ChatGPT-Account-Id", cr.AccountID)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
