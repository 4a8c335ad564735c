package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// ErrMalformed reports a usage answer codexgate cannot read.
var ErrMalformed = errors.New("malformed usage response")

// wire is the endpoint's JSON. Pointers tell "missing" from zero.
type wire struct {
	PlanType  string `json:"plan_type"`
	RateLimit *struct {
		Allowed      *bool       `json:"allowed"`
		LimitReached bool        `json:"limit_reached"`
		Primary      *wireWindow `json:"primary_window"`
		Secondary    *wireWindow `json:"secondary_window"`
	} `json:"rate_limit"`
	Credits *struct {
		HasCredits bool            `json:"has_credits"`
		Unlimited  bool            `json:"unlimited"`
		Balance    json.RawMessage `json:"balance"`
	} `json:"credits"`
}

type wireWindow struct {
	UsedPercent        float64 `json:"used_percent"`
	LimitWindowSeconds int64   `json:"limit_window_seconds"`
	ResetAfterSeconds  *int64  `json:"reset_after_seconds"`
	ResetAt            *int64  `json:"reset_at"` // unix seconds
}

// Parse decodes a usage answer fetched at now. A missing window is simply
// absent from Windows; a missing "allowed" means allowed unless
// limit_reached.
func Parse(body []byte, now time.Time) (quota.Snapshot, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return quota.Snapshot{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.RateLimit == nil {
		return quota.Snapshot{}, fmt.Errorf("%w: no rate_limit object", ErrMalformed)
	}
	s := quota.Snapshot{Plan: w.PlanType, LimitReached: w.RateLimit.LimitReached, FetchedAt: now}
	s.Allowed = !s.LimitReached
	if w.RateLimit.Allowed != nil {
		s.Allowed = *w.RateLimit.Allowed
	}
	for _, ww := range []*wireWindow{w.RateLimit.Primary, w.RateLimit.Secondary} {
		if ww == nil {
			continue
		}
		if ww.UsedPercent < 0 || math.IsNaN(ww.UsedPercent) {
			return quota.Snapshot{}, fmt.Errorf("%w: used_percent %v", ErrMalformed, ww.UsedPercent)
		}
		win := quota.Window{Kind: quota.Classify(ww.LimitWindowSeconds), UsedPercent: ww.UsedPercent, WindowSeconds: ww.LimitWindowSeconds}
		switch {
		case ww.ResetAt != nil && *ww.ResetAt > 0:
			win.ResetAt = time.Unix(*ww.ResetAt, 0).UTC()
		case ww.ResetAfterSeconds != nil && *ww.ResetAfterSeconds >= 0:
			win.ResetAt = now.Add(time.Duration(*ww.ResetAfterSeconds) * time.Second).UTC()
		}
		s.Windows = append(s.Windows, win)
	}
	if c := w.Credits; c != nil {
		s.Credits = quota.Credits{HasCredits: c.HasCredits, Unlimited: c.Unlimited, Balance: balance(c.Balance)}
	}
	return s, nil
}

// balance reads a balance sent as a JSON string or number.
func balance(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}
