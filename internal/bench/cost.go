package bench

import (
	"fmt"
	"time"
)

// Public list prices for the per-turn cost model: us-east-1, first pricing
// tier, as published on the AWS pricing pages on PricesRecorded.
const (
	PricesRecorded = "2026-11-30"
	// AWS Lambda, Arm: $0.0000133334 per GB-second (first 7.5 billion
	// GB-seconds a month) and $0.20 per million requests
	// (https://aws.amazon.com/lambda/pricing/).
	priceLambdaArmGBSecond = 0.0000133334
	priceLambdaRequest     = 0.20 / 1e6
	// Amazon API Gateway, REST APIs: $3.50 per million calls (first 333
	// million a month; https://aws.amazon.com/api-gateway/pricing/).
	priceRESTRequest = 3.50 / 1e6
)

// More public list prices (us-east-1, first tier, PricesRecorded), for
// what the storage-call count does not see.
const (
	// CloudWatch Logs: $0.50 per GB ingested (standard log class;
	// https://aws.amazon.com/cloudwatch/pricing/, "Logs").
	priceLogsGB = 0.50
	// CloudWatch custom metrics: $0.30 per metric a month (first 10,000
	// metrics, prorated by the hour: a metric costs only in the hours it
	// receives data; same page, "Metrics"). An alarm: $0.10 per metric it
	// watches a month (standard resolution; same page, "Alarms").
	priceMetricMonth = 0.30
	priceAlarmMetric = 0.10
	// Data transfer out of EC2/Lambda to the internet: $0.09 per GB (first
	// 10 TB a month after the first 100 GB; https://aws.amazon.com/ec2/pricing/on-demand/,
	// "Data Transfer"; Lambda bills it at EC2's rates,
	// https://aws.amazon.com/lambda/pricing/, "Data Transfer").
	priceTransferOutGB = 0.09
	// Secrets Manager: $0.40 per secret a month
	// (https://aws.amazon.com/secrets-manager/pricing/).
	priceSecretMonth = 0.40
)

// Per-turn volumes the cost model assumes (issue 27's trace): a turn's
// log lines (request log line, EMF usage line), and the bytes it sends
// out of AWS (the request body to OpenAI and the stream back to the
// client), from a short turn to a long one.
const (
	LogBytesPerTurn      = 1200
	TransferOutLowBytes  = 100_000
	TransferOutHighBytes = 500_000
	// ModelAccounts is the account count the read and idle figures are
	// given for.
	ModelAccounts = 10
	// accountItemBytes is what one account adds to the accounts partition
	// (registry, state and quota items), which the pool reads whole.
	accountItemBytes = 1000
)

// TurnExtras are the per-turn costs section 2's call count does not see,
// in dollars per million turns.
type TurnExtras struct {
	// KeyRead: the key cache's background re-check, at most one GetItem
	// per key and container each 60 s, so one per one-minute turn at most.
	KeyRead float64
	// AccountsRead: the pool's reload of the accounts partition, at most
	// one consistent Query per container each 60 s (one per one-minute
	// turn at most): one read unit per 4 KB of the partition.
	AccountsRead float64
	// Logs: LogBytesPerTurn ingested by CloudWatch Logs.
	Logs float64
	// TransferLow and TransferHigh: TransferOutLowBytes and
	// TransferOutHighBytes out to the internet.
	TransferLow, TransferHigh float64
	// ListSecrets: 0 since the account registry (issue 27): no function
	// calls it.
	ListSecrets float64
}

// ExtrasPerMillionTurns prices TurnExtras for a deployment of accounts
// accounts (GB = 10^9 bytes; AWS bills per GiB, 7 % more bytes, so these
// round up).
func ExtrasPerMillionTurns(accounts int) TurnExtras {
	units := (max(accounts, 1)*accountItemBytes + 4095) / 4096
	return TurnExtras{
		KeyRead:      1e6 * priceDDBRead,
		AccountsRead: 1e6 * priceDDBRead * float64(units),
		Logs:         1e6 * LogBytesPerTurn / 1e9 * priceLogsGB,
		TransferLow:  1e6 * TransferOutLowBytes / 1e9 * priceTransferOutGB,
		TransferHigh: 1e6 * TransferOutHighBytes / 1e9 * priceTransferOutGB,
	}
}

// Reads is the key and account reads together.
func (x TurnExtras) Reads() float64 { return x.KeyRead + x.AccountsRead }

// Totals is c with x, at the low and the high data transfer.
func (c TurnCost) Totals(x TurnExtras) (low, high float64) {
	base := c.Total() + x.Reads() + x.Logs + x.ListSecrets
	return base + x.TransferLow, base + x.TransferHigh
}

// IdleLine is one item of an idle month.
type IdleLine struct {
	Item, Basis string
	Dollars     float64
}

// Schedules of the default template (QuotaRate 15 min, RefreshRate 1 h)
// over a 30-day month, and the scheduled functions' memory.
const (
	quotaRunsPerMonth   = 30 * 24 * 4
	refreshRunsPerMonth = 30 * 24
	scheduledMemoryMB   = 256
)

// IdleDeployment is what a deployment with no account, no key and no
// traffic costs a month in the default configuration: the scheduled runs,
// their batch metrics (5 dimensionless custom metrics: QuotaFailures,
// ReauthRequired, Refreshes, AccountsLimited, RefreshFailures) and the
// template's alarms (7 single-metric alarms and the throttles alarm over 3
// metrics). API Gateway, WAF (off by default) and the proxy cost nothing
// without requests; EventBridge scheduled rules are free.
func IdleDeployment() []IdleLine {
	runs := float64(quotaRunsPerMonth + refreshRunsPerMonth)
	// An idle run: about 100 ms billed at 256 MB, a Query of the accounts
	// partition, about 1 KB of log lines.
	return []IdleLine{
		{"scheduled runs: Lambda requests and duration", fmt.Sprintf("%d quota-cron + %d refresh runs, ~100 ms at %d MB", quotaRunsPerMonth, refreshRunsPerMonth, scheduledMemoryMB),
			runs*priceLambdaRequest + runs*0.1*scheduledMemoryMB/1024*priceLambdaArmGBSecond},
		{"scheduled runs: DynamoDB reads", "1 Query of the accounts partition per run", runs * priceDDBRead},
		{"scheduled runs: CloudWatch Logs", "~1 KB per run", runs * 1000 / 1e9 * priceLogsGB},
		{"batch metrics", "5 dimensionless custom metrics, every hour of the month", 5 * priceMetricMonth},
		{"alarms", "7 single-metric alarms + 1 alarm over 3 metrics", 10 * priceAlarmMetric},
	}
}

// IdleAccount is what one more account without traffic adds a month in
// the default configuration: its secret, quota-cron's poll of it every
// 15 min (a token read from Secrets Manager when the container has none,
// counted at every run; the snapshot write; about 300 ms of a run at 256 MB,
// 16 polls at a time) and the keep-alive's refreshes (one each ~8 days,
// section 2's calls). detailed adds the per-account metrics
// (CODEXGATE_DETAILED_METRICS: UsedPercent for 2 windows and LimitReached).
func IdleAccount(refreshCalls map[string]int, refreshes int, detailed bool) []IdleLine {
	perRefresh := costOf(refreshCalls) / float64(max(refreshes, 1))
	lines := []IdleLine{
		{"secret", "Secrets Manager, per secret a month", priceSecretMonth},
		{"quota polls: Secrets Manager", fmt.Sprintf("≤ 1 GetSecretValue per run, %d runs", quotaRunsPerMonth), quotaRunsPerMonth * priceSecretsCall},
		{"quota polls: DynamoDB", fmt.Sprintf("1 snapshot PutItem per run, %d runs", quotaRunsPerMonth), quotaRunsPerMonth * priceDDBWrite},
		{"quota polls: Lambda duration", "~300 ms per poll at 256 MB, 16 at a time", quotaRunsPerMonth * 0.3 / 16 * scheduledMemoryMB / 1024 * priceLambdaArmGBSecond},
		{"keep-alive refreshes", "~4 a month, section 2's calls each", 4 * perRefresh},
	}
	if detailed {
		lines = append(lines, IdleLine{"per-account metrics (opt-in)", "3 custom metrics (CODEXGATE_DETAILED_METRICS=true)", 3 * priceMetricMonth})
	}
	return lines
}

// SumIdle adds up lines.
func SumIdle(lines []IdleLine) float64 {
	var t float64
	for _, l := range lines {
		t += l.Dollars
	}
	return t
}

// TurnMinutes is the turn length the cost table prices: a streamed Codex
// turn keeps the proxy invocation running for all of it.
const TurnMinutes = 1

// TurnCost is the price of one million turns at one memory size.
type TurnCost struct {
	MemoryMB                       int
	Billed                         time.Duration // per turn: the turn plus the proxy's added latency
	Duration, Requests, API, Store float64       // dollars per million turns
}

// Total is the dollars per million turns.
func (c TurnCost) Total() float64 { return c.Duration + c.Requests + c.API + c.Store }

// CostPerMillionTurns prices a million turns of length turn at memMB, with
// added latency on top of each turn and storePerTurn dollars of AWS storage
// calls per turn (the measured calls of section 2, priced by opPrice).
func CostPerMillionTurns(memMB int, turn, added time.Duration, storePerTurn float64) TurnCost {
	billed := turn + max(added, 0)
	gbs := float64(memMB) / 1024 * billed.Seconds()
	return TurnCost{
		MemoryMB: memMB,
		Billed:   billed,
		Duration: 1e6 * gbs * priceLambdaArmGBSecond,
		Requests: 1e6 * priceLambdaRequest,
		API:      1e6 * priceRESTRequest,
		Store:    1e6 * storePerTurn,
	}
}

// Budgets of the memory choice (issue 19): the warm first byte may come at
// most FirstByteBudget later than straight from upstream, and no cold start
// may add more than ColdBudget.
const (
	FirstByteBudget = 20 * time.Millisecond
	ColdBudget      = 300 * time.Millisecond
)

// Fits says whether s meets both budgets, and if not, why.
func (s ShareSize) Fits() (bool, string) {
	switch {
	case s.Err != nil || s.FirstByte == nil:
		return false, "not measured"
	case s.AddedFirstByte() > FirstByteBudget:
		return false, fmt.Sprintf("first byte +%s ms > %s", ms(s.AddedFirstByte()), FirstByteBudget)
	case s.ColdSlowest() > ColdBudget:
		return false, fmt.Sprintf("slowest cold start %s ms > %s", ms(s.ColdSlowest()), ColdBudget)
	}
	return true, ""
}

// Recommended is the cheapest measured size that fits both budgets. The
// price grows with memory (the turn's length, not the proxy's CPU, sets the
// billed duration), so the cheapest is the smallest that fits.
func (c *CPUShare) Recommended() (ShareSize, bool) {
	var best ShareSize
	found := false
	for _, s := range c.Sizes {
		if ok, _ := s.Fits(); ok && (!found || s.MemoryMB < best.MemoryMB) {
			best, found = s, true
		}
	}
	return best, found
}
