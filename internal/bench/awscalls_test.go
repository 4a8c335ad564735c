package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// TestCountAWSCalls_Refresh checks the figures make bench reports for
// section 2 on the local stack: a normal refresh costs 7 AWS calls, its
// secret read is by the version the lease names once it names one, and a
// refresh whose OAuth answer outlasts a third of the lease adds exactly one
// renewal. The rendered section goes to the test log.
func TestCountAWSCalls_Refresh(t *testing.T) {
	if testing.Short() {
		t.Skip("a refresh that runs long takes ~10 s")
	}
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	ctx := context.Background()
	c, err := CountAWSCalls(ctx, cfg, table, 20, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Before the first byte nothing; after the last, the one usage write.
	if c.WarmBeforeFirstByte != 0 || c.WarmCalls != c.WarmRequests || c.WarmByOp["UpdateItem"] != c.WarmRequests {
		t.Errorf("%d warm requests made %d AWS calls before the first byte and %d in all (%v), want 0 and one UpdateItem each",
			c.WarmRequests, c.WarmBeforeFirstByte, c.WarmCalls, c.WarmByOp)
	}
	want := map[string]int{"UpdateItem": 12, "GetSecretValue": 3, "PutSecretValue": 3, "UpdateSecretVersionStage": 3}
	if c.RefreshCalls != 21 || fmt.Sprint(c.RefreshByOp) != fmt.Sprint(want) {
		t.Errorf("3 refreshes made %d calls %v, want 21 %v", c.RefreshCalls, c.RefreshByOp, want)
	}
	// The tenant's secret was created outside the lease: the first refresh
	// finds no current version named on the lease item.
	if c.RefreshReadsByVersion != 2 || c.RefreshReadsByStage != 1 {
		t.Errorf("secret reads by version %d, by stage %d; want 2, 1", c.RefreshReadsByVersion, c.RefreshReadsByStage)
	}
	c.Long, c.LongErr = CountLongRefreshCalls(ctx, cfg, table, []int{1})
	if c.LongErr != nil {
		t.Fatal(c.LongErr)
	}
	if l := c.Long[0]; l.Renewals != 1 || l.Calls != 8 || l.SimRefreshes != 1 || l.SimReuse != 0 {
		t.Errorf("refresh with OAuth delayed %s: %d calls %v, %d renewals, %d OAuth refreshes, %d reuse; want 8, 1, 1, 0",
			l.OAuthDelay, l.Calls, l.ByOp, l.Renewals, l.SimRefreshes, l.SimReuse)
	}
	var buf bytes.Buffer
	(&Results{Calls: c}).writeCalls(func(format string, a ...any) { fmt.Fprintf(&buf, format+"\n", a...) })
	if !strings.Contains(buf.String(), "renewals (UpdateItem beyond 4)") {
		t.Error("section 2 lacks the long-refresh table")
	}
	t.Logf("section 2 as make bench writes it:\n%s", buf.String())
}

// TestCountRoutingCalls: with an account paused, fill-first routing,
// aliases and an effort-suffixed model, a warm request still makes no AWS
// call before its first byte (the settings come with the pool's one load),
// the paused account serves nothing and the suffix is sent as model and
// effort.
func TestCountRoutingCalls(t *testing.T) {
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	c, err := CountRoutingCalls(context.Background(), cfg, table, 50)
	if err != nil {
		t.Fatal(err)
	}
	if c.WarmBeforeFirstByte != 0 || c.WarmCalls > c.WarmRequests || c.PausedServed != 0 ||
		c.UpstreamModel != "gpt-5-codex" || c.UpstreamEffort != "high" {
		t.Errorf("routing: %+v", c)
	}
	var buf bytes.Buffer
	(&Results{Routing: c}).writeRouting(func(format string, a ...any) { fmt.Fprintf(&buf, format+"\n", a...) })
	if strings.Contains(buf.String(), "missed") || !strings.Contains(buf.String(), "Routing controls") {
		t.Errorf("section:\n%s", buf.String())
	}
	t.Logf("as make bench writes it:\n%s", buf.String())
}

// TestCountAWSCalls_KeyControls checks section 2's figure for a key with
// every routing control set: like a plain key's, no AWS call before the
// first byte and one usage write after the last.
func TestCountAWSCalls_KeyControls(t *testing.T) {
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	c, err := CountAWSCalls(context.Background(), cfg, table, 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.ControlledRequests != 20 || c.ControlledBeforeFirstByte != 0 || c.ControlledCalls != c.ControlledRequests ||
		c.ControlledByOp["UpdateItem"] != c.ControlledRequests {
		t.Errorf("%d warm requests with a controlled key made %d AWS calls before the first byte and %d in all (%v), want 0 and one UpdateItem each",
			c.ControlledRequests, c.ControlledBeforeFirstByte, c.ControlledCalls, c.ControlledByOp)
	}
	var buf bytes.Buffer
	(&Results{Calls: c}).writeKeyControls(func(format string, a ...any) { fmt.Fprintf(&buf, format+"\n", a...) })
	if !strings.Contains(buf.String(), "before its first byte, key with controls | 0.0000") {
		t.Errorf("the key controls' rows:\n%s", buf.String())
	}
}
