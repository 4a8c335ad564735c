package scheduled

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/metrics"
)

func TestRefreshRequest_UnmarshalJSON(t *testing.T) {
	manual, err := os.ReadFile("../../functions/refresh/event.json")
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := os.ReadFile("../../functions/quota-cron/event.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want RefreshRequest
		bad  bool
	}{
		{"manual fixture", string(manual), RefreshRequest{Account: "work", Force: true}, false},
		{"empty", `{}`, RefreshRequest{}, false},
		{"named", `{"account":"a","force":false}`, RefreshRequest{Account: "a"}, false},
		// A schedule without Input delivers the EventBridge event, whose
		// "account" is the AWS account id.
		{"scheduled event", string(scheduled), RefreshRequest{}, false},
		{"not an object", `"a"`, RefreshRequest{}, true},
		{"force not bool", `{"force":"yes"}`, RefreshRequest{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got RefreshRequest
			err := json.Unmarshal([]byte(tt.body), &got)
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, error=%v", got, err, tt.want, tt.bad)
			}
		})
	}
}

func TestKeepAlive_Handle_DueOnly(t *testing.T) {
	f := newFixture(t, "soon", "later", "marked", "dead", "broken")
	now := time.Now()
	f.expires("soon", now.Add(30*time.Minute))
	f.expires("later", now.Add(5*time.Hour))
	f.expires("marked", now.Add(time.Minute))
	f.revoke("dead")
	f.fail("broken", errBoom)
	states := newMemStates()
	states.states["marked"] = marked
	var emf bytes.Buffer
	k := &KeepAlive{
		Accounts: f.secrets, // lists them; the keep-alive reads expiries from it
		Tokens:   f.tokens, States: states, Window: 2 * time.Hour, Metrics: metrics.New(&emf), Logger: quiet,
	}
	res, err := k.Handle(context.Background(), RefreshRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"soon": StatusRefreshed, "later": StatusNotDue, "marked": StatusSkipped, "dead": StatusReauthRequired, "broken": StatusError}
	for _, o := range res.Accounts {
		if o.Status != want[o.Account] {
			t.Errorf("%s: status %q (%s), want %q", o.Account, o.Status, o.Error, want[o.Account])
		}
	}
	if res.Refreshed != 1 || res.NotDue != 1 || res.Reauth != 2 || res.Failed != 1 {
		t.Errorf("counts = %+v", res)
	}
	calls := f.tokens.calls()
	if !slices.Contains(calls, "soon!") || slices.Contains(calls, "later!") || slices.Contains(calls, "marked") || slices.Contains(calls, "marked!") {
		t.Errorf("token calls = %v: want a forced call for soon only, none for marked", calls)
	}
	if !strings.Contains(emf.String(), `"ReauthRequired":2,"RefreshFailures":1,"Refreshes":1`) {
		t.Errorf("EMF: %s", emf.String())
	}
}

func TestKeepAlive_Handle_Named(t *testing.T) {
	f := newFixture(t, "a", "marked")
	f.expires("a", time.Now().Add(10*time.Hour))
	states := newMemStates()
	states.states["marked"] = marked
	k := &KeepAlive{Accounts: f.secrets, Tokens: f.tokens, States: states, Logger: quiet}
	ctx := context.Background()
	tests := []struct {
		req    RefreshRequest
		status string
		forced bool
	}{
		{RefreshRequest{Account: "a"}, StatusNotDue, false},
		{RefreshRequest{Account: "a", Force: true}, StatusRefreshed, true},
		{RefreshRequest{Account: "marked"}, StatusSkipped, false},
		{RefreshRequest{Account: "marked", Force: true}, StatusRefreshed, true},
		{RefreshRequest{Account: "nobody", Force: true}, StatusNotFound, true}, // the routine finds no secret before any lease
	}
	for _, tt := range tests {
		before := len(f.tokens.calls())
		res, err := k.Handle(ctx, tt.req)
		if err != nil || len(res.Accounts) != 1 {
			t.Fatalf("%+v: %+v, %v", tt.req, res, err)
		}
		o := res.Accounts[0]
		forced := slices.Contains(f.tokens.calls()[before:], tt.req.Account+"!")
		if o.Status != tt.status || forced != tt.forced {
			t.Errorf("%+v: outcome %+v forced=%v; want %s forced=%v", tt.req, o, forced, tt.status, tt.forced)
		}
		if tt.req.Account == "marked" && tt.req.Force && !slices.Contains(states.cleared, "marked") {
			t.Error("a successful forced refresh did not clear reauth_required")
		}
		if o.Status == StatusNotFound && (res.NotFound != 1 || res.Failed != 0 || !strings.Contains(o.Error, "not found")) {
			t.Errorf("unknown account: %+v", res)
		}
	}
}
