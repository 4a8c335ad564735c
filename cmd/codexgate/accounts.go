package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// AccountsCommand shows every account's health, plan and quota.
type AccountsCommand struct{ m *Main }

// accountRow is one account as `codexgate accounts --json` prints it.
type accountRow struct {
	Name      string     `json:"name"`
	AccountID string     `json:"chatgpt_account_id"` // masked
	Email     string     `json:"email,omitempty"`
	Plan      string     `json:"plan,omitempty"`
	Status    string     `json:"status"` // ok, reauth_required, unreadable
	Reason    string     `json:"reason,omitempty"`
	StatusAt  *time.Time `json:"status_at,omitempty"`
	// Paused: `accounts pause` took it out of rotation (still refreshed
	// and polled). Priority orders accounts before the routing strategy.
	Paused         bool       `json:"paused"`
	PausedAt       *time.Time `json:"paused_at,omitempty"`
	Priority       int        `json:"priority"`
	FiveHour       *quotaCell `json:"five_hour,omitempty"`
	Weekly         *quotaCell `json:"weekly,omitempty"`
	QuotaFetchedAt *time.Time `json:"quota_fetched_at,omitempty"`
	CooldownUntil  *time.Time `json:"cooldown_until,omitempty"`
	CooldownReason string     `json:"cooldown_reason,omitempty"`
	LastRefresh    *time.Time `json:"last_refresh,omitempty"`
	TokenExpiresAt *time.Time `json:"access_token_expires_at,omitempty"`
	// WeekByKey is each client key's share of the tokens (input + output)
	// this account served in the last 7 days (UTC, today included),
	// heaviest first; empty when it served none.
	WeekByKey []keyShare `json:"week_by_key"`

	now time.Time // when the row was read: relative times in the table
}

// keyShare is one key's part of an account's week.
type keyShare struct {
	Key    string  `json:"key"`
	Tokens int64   `json:"tokens"`
	Share  float64 `json:"share"` // of the account's tokens, 0..1
}

// addWeekByKey fills every row's WeekByKey from the per-key usage counters.
func addWeekByKey(ctx context.Context, a *app.App, rows []accountRow, now time.Time) error {
	usage, err := a.States.Usage(ctx, now.AddDate(0, 0, -6), now)
	if err != nil {
		return err
	}
	byAccount := map[string]map[string]int64{}
	for _, u := range usage {
		if byAccount[u.Account] == nil {
			byAccount[u.Account] = map[string]int64{}
		}
		byAccount[u.Account][u.Key] += u.InputTokens + u.OutputTokens
	}
	for i := range rows {
		var total int64
		shares := []keyShare{}
		for k, n := range byAccount[rows[i].Name] {
			total += n
			shares = append(shares, keyShare{Key: k, Tokens: n})
		}
		for j := range shares {
			if total > 0 {
				shares[j].Share = float64(shares[j].Tokens) / float64(total)
			}
		}
		sort.Slice(shares, func(x, y int) bool {
			if shares[x].Tokens != shares[y].Tokens {
				return shares[x].Tokens > shares[y].Tokens
			}
			return shares[x].Key < shares[y].Key
		})
		rows[i].WeekByKey = shares
	}
	return nil
}

// weekByKey is the table cell: "alice 62% bob 38%", or "-".
func weekByKey(shares []keyShare) string {
	if len(shares) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(shares))
	for _, s := range shares {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", s.Key, 100*s.Share))
	}
	return strings.Join(parts, " ")
}

// quotaCell is one usage window.
type quotaCell struct {
	UsedPercent float64    `json:"used_percent"`
	ResetAt     *time.Time `json:"reset_at,omitempty"`
}

// Statuses shown in the table.
const (
	statusOK         = "ok"
	statusReauth     = "reauth_required"
	statusUnreadable = "unreadable"
)

// Run executes `codexgate accounts`.
func (c *AccountsCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "remove":
			return c.remove(ctx, args[1:])
		case "pause":
			return c.pause(ctx, args[1:], true)
		case "resume":
			return c.pause(ctx, args[1:], false)
		case "priority":
			return c.priority(ctx, args[1:])
		}
	}
	fs := newFlagSet(c.m, "accounts", "codexgate accounts [--json] | accounts remove NAME [--yes] | accounts pause|resume NAME | accounts priority NAME N",
		"Lists every stored account: name, masked ChatGPT account id, email, plan, status (ok, or\n"+
			"reauth_required with the reason), whether it is paused and its routing priority, 5-hour and\n"+
			"weekly quota used with their reset times, a cooldown set by the proxy, and the last token\n"+
			"refresh. Quota comes from the latest snapshot the quota cron (or `codexgate serve`'s poll)\n"+
			"stored. WEEK BY KEY is each client key's share of the tokens the account served in the last\n"+
			"7 days (UTC), from the proxy's usage counters (`codexgate usage`).\n"+
			"`codexgate accounts remove NAME --help` tells how to remove an account; `accounts pause`,\n"+
			"`resume` and `priority` (each with --help) set how proxies route to it.")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	a, err := c.m.parseThenLoad(ctx, fs, args)
	if err != nil {
		return err
	}
	now := time.Now()
	rows, err := loadAccountRows(ctx, a, now)
	if err != nil {
		return err
	}
	if err := addWeekByKey(ctx, a, rows, now.UTC()); err != nil {
		return err
	}
	if *asJSON {
		return c.m.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.m.Stdout, "no accounts yet: add one with `codexgate login --account NAME` or `codexgate import --account NAME --auth-file ~/.codex/auth.json`")
		return nil
	}
	return printAccounts(c.m.Stdout, rows)
}

func loadAccountRows(ctx context.Context, a *app.App, now time.Time) ([]accountRow, error) {
	names, err := a.Secrets.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	health, err := loadHealth(ctx, a)
	if err != nil {
		return nil, err
	}
	rows := make([]accountRow, 0, len(names))
	for _, name := range names {
		row := accountRow{Name: name, Status: statusOK, AccountID: "-", now: now}
		v, err := a.Secrets.LoadCurrent(ctx, name)
		switch {
		case err == nil:
			cl := v.Auth.Claims()
			row.AccountID = maskID(cl.AccountID)
			row.Email, row.Plan = cl.Email, cl.PlanType
			row.LastRefresh = timePtr(v.Auth.LastRefresh)
			row.TokenExpiresAt = timePtr(v.Auth.Token.ExpiresAt)
		case errors.Is(err, codex.ErrAccountNotFound):
			continue // deleted between List and Load
		case errors.Is(err, codex.ErrInvalidAuthFile):
			row.Status, row.Reason = statusUnreadable, err.Error()
		default:
			return nil, fmt.Errorf("read account %q: %w", name, err)
		}
		health.apply(name, &row)
		rows = append(rows, row)
	}
	return rows, nil
}

func printAccounts(w io.Writer, rows []accountRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCHATGPT ID\tEMAIL\tPLAN\tSTATUS\tPAUSED\tPRIORITY\t5H USED\t5H RESET\tWEEK USED\tWEEK RESET\tCOOLDOWN\tLAST REFRESH\tWEEK BY KEY")
	for _, r := range rows {
		status := r.Status
		if r.Reason != "" {
			status += " (" + oneLine(r.Reason) + ")"
		}
		cooldown := "-"
		if r.CooldownUntil != nil && r.CooldownUntil.After(r.now) {
			cooldown = "for " + until(r.now, *r.CooldownUntil)
			if r.CooldownReason != "" {
				cooldown += " (" + r.CooldownReason + ")"
			}
		}
		paused := "-"
		if r.Paused {
			paused = "paused"
			if r.PausedAt != nil {
				paused += " " + ago(r.now, r.PausedAt)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Name, r.AccountID, orDash(r.Email), orDash(r.Plan), status, paused, r.Priority,
			percent(r.FiveHour), resetIn(r.now, r.FiveHour), percent(r.Weekly), resetIn(r.now, r.Weekly),
			cooldown, ago(r.now, r.LastRefresh), weekByKey(r.WeekByKey))
	}
	return tw.Flush()
}

func percent(q *quotaCell) string {
	if q == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", q.UsedPercent)
}

func resetIn(now time.Time, q *quotaCell) string {
	if q == nil || q.ResetAt == nil {
		return "-"
	}
	if !q.ResetAt.After(now) {
		return "passed"
	}
	return "in " + until(now, *q.ResetAt)
}

func ago(now time.Time, t *time.Time) string {
	if t == nil {
		return "-"
	}
	if d := now.Sub(*t); d >= 0 {
		return short(d) + " ago"
	}
	return t.UTC().Format(time.RFC3339)
}

func until(now, t time.Time) string { return short(t.Sub(now)) }

// short renders a duration as 3d4h, 2h13m, 5m or 40s.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// health is the state table's view of every account.
type health struct{ statestore.Snapshot }

func loadHealth(ctx context.Context, a *app.App) (health, error) {
	snap, err := a.States.Load(ctx)
	if err != nil {
		return health{}, err
	}
	return health{snap}, nil
}

// apply adds account's state and quota to row. A reauth_required mark
// outranks an unreadable secret in the status column: it says what to do.
func (h health) apply(account string, row *accountRow) {
	if set, ok := h.Settings[account]; ok {
		row.Paused, row.PausedAt, row.Priority = set.Paused, timePtr(set.PausedAt), set.Priority
	}
	if st, ok := h.States[account]; ok {
		if st.Status == statestore.StatusReauthRequired {
			row.Status, row.Reason = statusReauth, st.Reason
		}
		row.StatusAt = timePtr(st.StatusAt)
		if st.CooldownUntil.After(row.now) {
			row.CooldownUntil = timePtr(st.CooldownUntil)
			row.CooldownReason = st.CooldownReason
		}
	}
	q, ok := h.Quotas[account]
	if !ok {
		return
	}
	if q.Plan != "" {
		row.Plan = q.Plan
	}
	row.QuotaFetchedAt = timePtr(q.FetchedAt)
	for _, w := range q.Windows {
		cell := &quotaCell{UsedPercent: w.UsedPercent, ResetAt: timePtr(w.ResetAt)}
		switch w.Kind {
		case quota.Kind5h:
			row.FiveHour = cell
		case quota.KindWeekly:
			row.Weekly = cell
		}
	}
}
