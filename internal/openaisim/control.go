package openaisim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// serveControl serves the test-only control API under /_sim/, so tests,
// benchmarks and the demo can drive a simulator running in another process:
//
//	GET    /_sim/health                               200 "ok"
//	GET    /_sim/stats                                Stats as JSON
//	POST   /_sim/reset-stats                          ResetStats
//	POST   /_sim/accounts            body: Account    AddAccount; answers the auth.json document
//	POST   /_sim/login-account       body: Account    SetLoginAccount; answers the Account
//	GET    /_sim/accounts                             Accounts as JSON
//	POST   /_sim/expire?account=ID                    ExpireAccessTokens
//	POST   /_sim/revoke?account=ID                    RevokeAccount
//	POST   /_sim/usage?account=ID&primary=P&secondary=S   SetUsage
//	POST   /_sim/usage-limit?account=ID&resets_in=SECONDS SetUsageLimit(now+SECONDS)
//	DELETE /_sim/usage-limit?account=ID               ClearUsageLimit
//	POST   /_sim/swap-windows?on=true|false           SwapUsageWindows
//	POST   /_sim/advance?by=DURATION                  Advance (Go duration, e.g. 2h)
//	POST   /_sim/faults              body: Fault      InjectFault ("delay_ms" accepted besides "delay" in ns)
//	DELETE /_sim/faults                               ClearFaults
//
// Errors are 400/404 with {"error":{"message":…}}; success without a body
// is 204.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("account")
	route := r.Method + " " + r.URL.Path
	var err error
	switch route {
	case "GET /_sim/health":
		w.Write([]byte("ok")) //nolint:errcheck // client went away
		return
	case "GET /_sim/stats":
		writeJSON(w, http.StatusOK, s.Stats())
		return
	case "GET /_sim/accounts":
		writeJSON(w, http.StatusOK, s.Accounts())
		return
	case "POST /_sim/reset-stats":
		s.ResetStats()
	case "POST /_sim/accounts", "POST /_sim/login-account":
		var a Account
		if err := decodeStrict(r.Body, &a); err != nil {
			controlError(w, http.StatusBadRequest, "account: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if route == "POST /_sim/accounts" {
			w.Write(s.AuthJSON(s.AddAccount(a))) //nolint:errcheck // client went away
			return
		}
		writeJSON(w, http.StatusOK, s.SetLoginAccount(a))
		return
	case "POST /_sim/expire":
		err = s.ExpireAccessTokens(id)
	case "POST /_sim/revoke":
		err = s.RevokeAccount(id)
	case "POST /_sim/usage":
		p, perr := strconv.ParseFloat(q.Get("primary"), 64)
		sec, serr := strconv.ParseFloat(q.Get("secondary"), 64)
		if err = errors.Join(perr, serr); err == nil {
			err = s.SetUsage(id, p, sec)
		}
	case "POST /_sim/usage-limit":
		var secs int64
		if secs, err = strconv.ParseInt(q.Get("resets_in"), 10, 64); err == nil {
			err = s.SetUsageLimit(id, s.now().Add(time.Duration(secs)*time.Second))
		}
	case "DELETE /_sim/usage-limit":
		err = s.ClearUsageLimit(id)
	case "POST /_sim/swap-windows":
		var on bool
		if on, err = strconv.ParseBool(q.Get("on")); err == nil {
			s.SwapUsageWindows(on)
		}
	case "POST /_sim/advance":
		var d time.Duration
		if d, err = time.ParseDuration(q.Get("by")); err == nil {
			s.Advance(d)
		}
	case "POST /_sim/faults":
		var f struct {
			Fault
			DelayMS int64 `json:"delay_ms"`
		}
		if err = decodeStrict(r.Body, &f); err == nil {
			if f.DelayMS > 0 {
				f.Delay = time.Duration(f.DelayMS) * time.Millisecond
			}
			s.InjectFault(f.Fault)
		}
	case "DELETE /_sim/faults":
		s.ClearFaults()
	default:
		controlError(w, http.StatusNotFound, "unknown control route "+route)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownAccount):
		controlError(w, http.StatusNotFound, err.Error())
	case err != nil:
		controlError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func decodeStrict(body io.Reader, v any) error {
	dec := json.NewDecoder(io.LimitReader(body, maxBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg, "type": "simulator_error"}})
}
