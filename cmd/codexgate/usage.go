package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codexgate/codexgate/shared/statestore"
)

// UsageCommand shows who used the quota: the proxy's per-key day counters.
type UsageCommand struct{ m *Main }

// maxUsageDays bounds --days: counters live 90 days by default.
const maxUsageDays = 366

// barWidth is the widest bar, the heaviest row's.
const barWidth = 24

// Run executes `codexgate usage`.
func (c *UsageCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "usage", "codexgate usage [--key N] [--account A] [--days 7] [--json]",
		"Shows what each client key used per day (UTC): requests and input, cached input, output and\n"+
			"reasoning tokens, as the upstream reported them, summed over accounts and models, with a bar\n"+
			"per row scaled to the heaviest row (input + output tokens). --json prints the stored counters\n"+
			"(one per day, key, account and model) for scripts.")
	key := fs.String("key", "", "only this key's usage")
	account := fs.String("account", "", "only usage served by this account")
	days := fs.Int("days", 7, "how many days back, today (UTC) included")
	asJSON := fs.Bool("json", false, "print a JSON array of counters instead of a table")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *days < 1 || *days > maxUsageDays {
		return usagef(fs.cmd, "--days %d: want 1 to %d", *days, maxUsageDays)
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	to := time.Now().UTC()
	rows, err := a.States.Usage(ctx, to.AddDate(0, 0, -(*days-1)), to)
	if err != nil {
		return err
	}
	kept := rows[:0]
	for _, r := range rows {
		if (*key == "" || r.Key == *key) && (*account == "" || r.Account == *account) {
			kept = append(kept, r)
		}
	}
	if *asJSON {
		if kept == nil {
			kept = []statestore.UsageRow{}
		}
		return c.m.printJSON(kept)
	}
	if len(kept) == 0 {
		fmt.Fprintf(c.m.Stdout, "no usage recorded in the last %d day(s)\n", *days)
		return nil
	}
	return writeUsageTable(c.m.Stdout, kept)
}

// usageLine is one table row: a day's totals of one key (or of the day).
type usageLine struct {
	day, key string
	statestore.UsageRow
}

func (l *usageLine) add(r statestore.UsageRow) {
	l.Requests += r.Requests
	l.InputTokens += r.InputTokens
	l.CachedTokens += r.CachedTokens
	l.OutputTokens += r.OutputTokens
	l.ReasoningTokens += r.ReasoningTokens
}

func (l *usageLine) tokens() int64 { return l.InputTokens + l.OutputTokens }

// writeUsageTable prints rows (sorted by day and key) as one line per day
// and key, a total line per day, and a total per key over the period.
func writeUsageTable(w io.Writer, rows []statestore.UsageRow) error {
	var lines []*usageLine
	byKey := map[string]*usageLine{}
	for _, r := range rows {
		if n := len(lines); n == 0 || lines[n-1].day != r.Day || lines[n-1].key != r.Key {
			lines = append(lines, &usageLine{day: r.Day, key: r.Key})
		}
		lines[len(lines)-1].add(r)
		if byKey[r.Key] == nil {
			byKey[r.Key] = &usageLine{day: "all days", key: r.Key}
		}
		byKey[r.Key].add(r)
	}
	var heaviest int64
	for _, l := range lines {
		heaviest = max(heaviest, l.tokens())
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tKEY\tREQUESTS\tINPUT\tCACHED\tOUTPUT\tREASONING\tTOTAL\t")
	row := func(l *usageLine, bar string) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", l.day, l.key, l.Requests, l.InputTokens,
			l.CachedTokens, l.OutputTokens, l.ReasoningTokens, l.tokens(), bar)
	}
	for i, l := range lines {
		row(l, usageBar(l.tokens(), heaviest))
		if i == len(lines)-1 || lines[i+1].day != l.day {
			total := &usageLine{day: l.day, key: "(all keys)"}
			for _, o := range lines {
				if o.day == l.day {
					total.add(o.UsageRow)
				}
			}
			row(total, "")
		}
	}
	if days := countDays(lines); days > 1 {
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(byKey[k], "")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Rows without a bar would end in the padding of the last column.
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

func countDays(lines []*usageLine) int {
	n := 0
	for i, l := range lines {
		if i == 0 || lines[i-1].day != l.day {
			n++
		}
	}
	return n
}

// usageBar is v's share of heaviest as a bar of eighth blocks, at least
// one eighth for any use at all so a light key is still visible.
func usageBar(v, heaviest int64) string {
	if v <= 0 || heaviest <= 0 {
		return ""
	}
	eighths := max(1, int(math.Round(float64(v)/float64(heaviest)*barWidth*8)))
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}
