package reliability

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRecoveryOf(t *testing.T) {
	end := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	req := func(start, took int, ok bool) outcome { // seconds after end
		s := end.Add(time.Duration(start) * time.Second)
		return outcome{Start: s, End: s.Add(time.Duration(took) * time.Second), OK: ok, Why: map[bool]string{false: "HTTP 503 no_available_account"}[ok]}
	}
	for _, tc := range []struct {
		name                        string
		list                        []outcome
		after, served               int
		firstOK, allGreen, greenFor time.Duration
	}{
		{name: "dark", list: []outcome{req(1, 0, false), req(2, 0, false)}, after: 2, firstOK: -1, allGreen: -1},
		{name: "nothing since the end", list: []outcome{req(-3, 5, false)}, firstOK: -1, allGreen: -1},
		{name: "requests before the end do not count", list: []outcome{req(-2, 1, false), req(0, 1, true), req(3, 1, true)},
			after: 2, served: 2, firstOK: time.Second, allGreen: time.Second, greenFor: 3 * time.Second},
		{name: "recovers after a failure", list: []outcome{req(1, 0, true), req(2, 0, false), req(5, 2, true), req(20, 1, true)},
			after: 4, served: 3, firstOK: time.Second, allGreen: 7 * time.Second, greenFor: 15 * time.Second},
		{name: "last request failed", list: []outcome{req(1, 0, true), req(2, 0, false)}, after: 2, served: 1, firstOK: time.Second, allGreen: -1},
		{name: "first success by answer time", list: []outcome{req(1, 30, true), req(2, 1, true)},
			after: 2, served: 2, firstOK: 3 * time.Second, allGreen: 31 * time.Second, greenFor: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := recoveryOf(tc.list, end)
			if r.After != tc.after || r.Served != tc.served || r.FirstOK != tc.firstOK || r.AllGreen != tc.allGreen || r.GreenFor != tc.greenFor {
				t.Errorf("recoveryOf = %+v; want after %d served %d firstOK %s allGreen %s greenFor %s",
					r, tc.after, tc.served, tc.firstOK, tc.allGreen, tc.greenFor)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	in := `bearer eyJhbGciOi.eyJzdWIiOiIx.c2ln refresh rt_abcDEF123_x key cgk_0123abcd fine`
	if got, want := redact(in), `bearer [redacted] refresh [redacted] key [redacted] fine`; got != want {
		t.Errorf("redact = %q, want %q", got, want)
	}
}

func TestContainer_Request(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
		why    string
	}{
		{"complete stream", 200, "event: response.created\ndata: {}\n\nevent: response.completed\ndata: {}\n\n", true, ""},
		{"dark", 503, `{"error":{"message":"No Codex account is available right now.","type":"server_error","code":"no_available_account"}}`,
			false, "HTTP 503 no_available_account: No Codex account is available right now."},
		{"stream cut with an error event", 200, "event: response.created\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"cut\",\"code\":\"upstream_stream_error\"}}\n\n",
			false, "HTTP 200, stream without response.completed upstream_stream_error: cut"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer cgk_test" || r.URL.Path != "/v1/responses" {
					http.Error(w, "bad request", 400)
					return
				}
				time.Sleep(20 * time.Millisecond)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := &container{srv: srv, client: srv.Client()}
			o := c.request("cgk_test")
			if o.OK != tc.ok || o.Why != tc.why || o.Status != tc.status {
				t.Errorf("outcome %+v, want ok %v why %q", o, tc.ok, tc.why)
			}
			if o.End.Sub(o.Start) < 20*time.Millisecond {
				t.Errorf("answered %s after it started, want the 20 ms the server took", o.End.Sub(o.Start))
			}
		})
	}
}
