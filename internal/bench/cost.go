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
