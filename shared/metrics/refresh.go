package metrics

// RefreshEvents turns the refresh routine's alarms (codex.Events) into
// metrics, one line each when they happen, for the alarms in template.yaml.
// The account is in the refresh routine's log line beside it.
type RefreshEvents struct{ W *Writer }

// RotatedTokenNotStored emits RotatedTokenNotStored = 1.
func (e RefreshEvents) RotatedTokenNotStored(string) { e.one(RotatedTokenNotStored) }

// LeaseOutlived emits LeaseOutlived = 1.
func (e RefreshEvents) LeaseOutlived(string) { e.one(LeaseOutlived) }

// ReauthRequired emits ReauthRequired = 1.
func (e RefreshEvents) ReauthRequired(string, string) { e.one(ReauthRequired) }

func (e RefreshEvents) one(name string) {
	e.W.Emit(nil, Metric{Name: name, Unit: Count, Value: 1}) //nolint:errcheck // a metric line is best effort; the log line carries the alarm too
}
