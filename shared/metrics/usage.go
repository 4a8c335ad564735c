package metrics

// Usage metric names: one line per usage delta the proxy stored (a Lambda
// invocation's request, or what `codexgate serve` summed per counter in a
// flush interval), dimension Key (the client key's name, never the key).
const (
	Requests          = "Requests"
	InputTokens       = "InputTokens"
	CachedInputTokens = "CachedInputTokens"
	OutputTokens      = "OutputTokens"
	ReasoningTokens   = "ReasoningTokens"
	DimKey            = "Key"
)

// RequestUsage is the usage of Requests requests of one key, for Usage.
// An empty Key emits the deployment's totals, without dimension.
type RequestUsage struct {
	Key                                                                string
	Requests, InputTokens, CachedTokens, OutputTokens, ReasoningTokens int64
}

// Usage emits u with the key's name as the dimension, or without
// dimension when u.Key is empty.
func (w *Writer) Usage(u RequestUsage) error {
	var dims []Dimension
	if u.Key != "" {
		dims = []Dimension{{Name: DimKey, Value: u.Key}}
	}
	return w.Emit(dims,
		Metric{Name: Requests, Unit: Count, Value: float64(u.Requests)},
		Metric{Name: InputTokens, Unit: Count, Value: float64(u.InputTokens)},
		Metric{Name: CachedInputTokens, Unit: Count, Value: float64(u.CachedTokens)},
		Metric{Name: OutputTokens, Unit: Count, Value: float64(u.OutputTokens)},
		Metric{Name: ReasoningTokens, Unit: Count, Value: float64(u.ReasoningTokens)})
}

// Budget refusal: one line per request refused for a key's budget,
// dimension Key, with the budget ("daily" or "weekly") as a property.
const (
	BudgetRefused = "BudgetRefused"
	PropBudget    = "Budget"
)

// BudgetEvents turns the proxy's budget refusals (proxy.BudgetEvents) into
// metrics. A nil W emits nothing.
type BudgetEvents struct{ W *Writer }

// BudgetRefused emits BudgetRefused = 1 for key, with the budget as a
// property.
func (e BudgetEvents) BudgetRefused(key, budget string) {
	e.W.EmitWith([]Dimension{{Name: DimKey, Value: key}}, map[string]string{PropBudget: budget}, //nolint:errcheck // a metric line is best effort; the client has its 429
		Metric{Name: BudgetRefused, Unit: Count, Value: 1})
}

// NoAccountAvailable is the proxy's count of requests it answered 503
// no_available_account: the deployment had no account to serve them.
const NoAccountAvailable = "NoAccountAvailable"

// AvailabilityEvents turns the proxy's "no account available" answers
// (proxy.AvailabilityEvents) into metrics. A nil W emits nothing.
type AvailabilityEvents struct{ W *Writer }

// NoAccountAvailable emits NoAccountAvailable = 1, dimensionless.
func (e AvailabilityEvents) NoAccountAvailable() {
	e.W.Emit(nil, Metric{Name: NoAccountAvailable, Unit: Count, Value: 1}) //nolint:errcheck // a metric line is best effort; the client has its 503
}
