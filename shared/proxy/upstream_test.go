package proxy

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// The quota headers as the backend sends them (lower case on the wire),
// read through net/http as the proxy gets them: both windows, each reset
// in its own form.
func TestQuotaFromHeader(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\n" +
		"x-codex-primary-used-percent: 12.5\r\n" +
		"x-codex-primary-window-minutes: 300\r\n" +
		"x-codex-primary-reset-after-seconds: 60\r\n" +
		"x-codex-secondary-used-percent: 40\r\n" +
		"x-codex-secondary-window-minutes: 10080\r\n" +
		"x-codex-secondary-reset-at: 1800000000\r\n" +
		"Content-Length: 0\r\n\r\n"
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	q := quotaFromHeader(resp.Header, now)
	want := []quota.Window{
		{UsedPercent: 12.5, WindowSeconds: 300 * 60, Kind: quota.Kind5h, ResetAt: now.Add(time.Minute)},
		{UsedPercent: 40, WindowSeconds: 10080 * 60, Kind: quota.KindWeekly, ResetAt: time.Unix(1800000000, 0)},
	}
	if len(q.Windows) != 2 || !q.FetchedAt.Equal(now) {
		t.Fatalf("got %+v", q)
	}
	for i, w := range want {
		g := q.Windows[i]
		if g.UsedPercent != w.UsedPercent || g.WindowSeconds != w.WindowSeconds || g.Kind != w.Kind || !g.ResetAt.Equal(w.ResetAt) {
			t.Errorf("window %d = %+v, want %+v", i, g, w)
		}
	}
	if q := quotaFromHeader(http.Header{}, now); len(q.Windows) != 0 || !q.FetchedAt.IsZero() {
		t.Errorf("no headers: %+v", q)
	}
}
