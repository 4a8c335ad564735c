package metrics

// Usage metric names: one line per proxied request with a final usage,
// dimension Key (the client key's name, never the key).
const (
	Requests          = "Requests"
	InputTokens       = "InputTokens"
	CachedInputTokens = "CachedInputTokens"
	OutputTokens      = "OutputTokens"
	ReasoningTokens   = "ReasoningTokens"
	DimKey            = "Key"
)

// RequestUsage is one request's usage, for Usage.
type RequestUsage struct {
	Key                                                      string
	InputTokens, CachedTokens, OutputTokens, ReasoningTokens int64
}

// Usage emits one request's usage with the key's name as the dimension.
func (w *Writer) Usage(u RequestUsage) error {
	return w.Emit([]Dimension{{Name: DimKey, Value: u.Key}},
		Metric{Name: Requests, Unit: Count, Value: 1},
		Metric{Name: InputTokens, Unit: Count, Value: float64(u.InputTokens)},
		Metric{Name: CachedInputTokens, Unit: Count, Value: float64(u.CachedTokens)},
		Metric{Name: OutputTokens, Unit: Count, Value: float64(u.OutputTokens)},
		Metric{Name: ReasoningTokens, Unit: Count, Value: float64(u.ReasoningTokens)})
}
