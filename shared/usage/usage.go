package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Window kinds, as stored in quota snapshots and used as the Window metric
// dimension.
const (
	Kind5h     = "5h"
	KindWeekly = "weekly"
	KindOther  = "other"
)

// Window lengths the backend reports in limit_window_seconds.
const (
	fiveHourSeconds = 5 * 60 * 60      // 18000
	weekSeconds     = 7 * 24 * 60 * 60 // 604800
)

// Snapshot is one reading of an account's quota.
type Snapshot struct {
	Plan         string    `json:"plan,omitempty"`
	Allowed      bool      `json:"allowed"`
	LimitReached bool      `json:"limit_reached"`
	Windows      []Window  `json:"windows,omitempty"`
	Credits      Credits   `json:"credits"`
	FetchedAt    time.Time `json:"fetched_at"`
}

// Window is one usage window, classified by its length.
type Window struct {
	Kind          string    `json:"kind"` // Kind5h, KindWeekly or KindOther
	UsedPercent   float64   `json:"used_percent"`
	WindowSeconds int64     `json:"window_seconds"`
	ResetAt       time.Time `json:"reset_at,omitzero"` // zero when the backend gave none
}

// Credits is the account's credit balance, as far as the backend reports it.
type Credits struct {
	HasCredits bool   `json:"has_credits"`
	Unlimited  bool   `json:"unlimited"`
	Balance    string `json:"balance,omitempty"` // decimal text; the backend sends a string or a number
}

// Classify names a window by its length: within 10% of 5 hours is Kind5h,
// within 10% of a week KindWeekly, anything else KindOther.
func Classify(windowSeconds int64) string {
	near := func(want int64) bool { return math.Abs(float64(windowSeconds-want)) <= float64(want)/10 }
	switch {
	case windowSeconds <= 0:
		return KindOther
	case near(fiveHourSeconds):
		return Kind5h
	case near(weekSeconds):
		return KindWeekly
	}
	return KindOther
}

// Exhausted reports whether the account cannot be used now (the backend says
// limit_reached, or a window is at 100%), and until when: the latest reset
// among the exhausted windows, or among all windows when only the flag says
// so. until is zero when no reset time is known.
func (s Snapshot) Exhausted() (limited bool, until time.Time) {
	full := false
	for _, w := range s.Windows {
		if w.UsedPercent >= 100 {
			full = true
			if w.ResetAt.After(until) {
				until = w.ResetAt
			}
		}
	}
	if full {
		return true, until
	}
	if !s.LimitReached && s.Allowed {
		return false, time.Time{}
	}
	for _, w := range s.Windows {
		if w.ResetAt.After(until) {
			until = w.ResetAt
		}
	}
	return true, until
}

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
func Parse(body []byte, now time.Time) (Snapshot, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return Snapshot{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.RateLimit == nil {
		return Snapshot{}, fmt.Errorf("%w: no rate_limit object", ErrMalformed)
	}
	s := Snapshot{Plan: w.PlanType, LimitReached: w.RateLimit.LimitReached, FetchedAt: now}
	s.Allowed = !s.LimitReached
	if w.RateLimit.Allowed != nil {
		s.Allowed = *w.RateLimit.Allowed
	}
	for _, ww := range []*wireWindow{w.RateLimit.Primary, w.RateLimit.Secondary} {
		if ww == nil {
			continue
		}
		if ww.UsedPercent < 0 || math.IsNaN(ww.UsedPercent) {
			return Snapshot{}, fmt.Errorf("%w: used_percent %v", ErrMalformed, ww.UsedPercent)
		}
		win := Window{Kind: Classify(ww.LimitWindowSeconds), UsedPercent: ww.UsedPercent, WindowSeconds: ww.LimitWindowSeconds}
		switch {
		case ww.ResetAt != nil && *ww.ResetAt > 0:
			win.ResetAt = time.Unix(*ww.ResetAt, 0).UTC()
		case ww.ResetAfterSeconds != nil && *ww.ResetAfterSeconds >= 0:
			win.ResetAt = now.Add(time.Duration(*ww.ResetAfterSeconds) * time.Second).UTC()
		}
		s.Windows = append(s.Windows, win)
	}
	if c := w.Credits; c != nil {
		s.Credits = Credits{HasCredits: c.HasCredits, Unlimited: c.Unlimited, Balance: balance(c.Balance)}
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
