package proxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// A request whose account needs a refresh while another process holds that
// account's lease (a slow or crashed holder) waits only briefly when
// another account can serve it, and is answered by that account; alone, it
// answers 503 with Retry-After instead of waiting out the holder.
func TestProxy_Sim_WaiterFailsOver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts []string
		want     int
	}{
		{"another account serves", []string{"acct-a", "acct-b"}, 200},
		{"alone", []string{"acct-a"}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSimHarnessWith(t, func(c *Config) {
				c.HolderWait, c.HolderWaitAlone = 300*time.Millisecond, time.Second
			}, tc.accounts...)
			if _, err := h.leases.Acquire(context.Background(), "chatgpt:acct-a", "a stuck holder", time.Hour, nil); err != nil {
				t.Fatal(err)
			}
			h.sim.ExpireAccessTokens("acct-a") // a's next request gets a 401 and needs a refresh
			start := time.Now()
			resp, body := h.post("/v1/responses", `{"model":"gpt-5","input":"hi","stream":true}`, nil)
			took := time.Since(start)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if took > 10*time.Second {
				t.Errorf("answered after %s: the request waited out the holder", took)
			}
			switch tc.want {
			case 200:
				if !strings.Contains(body, openaisim.DefaultAnswer) {
					t.Errorf("body lacks the answer: %s", body)
				}
			case 503:
				if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "account_refreshing") {
					t.Errorf("503 without Retry-After or code: %v %s", resp.Header, body)
				}
			}
			if st := h.sim.Stats(); st.Refreshes != 0 || st.ReuseRejections != 0 {
				t.Errorf("refreshes %d, reuse %d under another holder's lease; want 0, 0", st.Refreshes, st.ReuseRejections)
			}
		})
	}
}
