package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every codexgate metric.
const Namespace = "codexgate"

// Metric names (see the package comment for units and dimensions).
const (
	UsedPercent     = "UsedPercent"
	LimitReached    = "LimitReached"
	AccountsLimited = "AccountsLimited"
	QuotaFailures   = "QuotaFailures"
	Refreshes       = "Refreshes"
	RefreshFailures = "RefreshFailures"
	ReauthRequired  = "ReauthRequired"
	// Alarms of the refresh routine itself, emitted when they happen.
	RotatedTokenNotStored = "RotatedTokenNotStored"
	LeaseOutlived         = "LeaseOutlived"
)

// Dimension names.
const (
	DimAccount = "Account"
	DimWindow  = "Window"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units codexgate uses.
const (
	Percent Unit = "Percent"
	Count   Unit = "Count"
)

// Metric is one value on a line.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Dimension is one name/value pair that all metrics of a line share.
type Dimension struct {
	Name  string
	Value string
}

// Writer writes EMF lines. It is safe for concurrent use; each line is
// written with one Write call.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a Writer on w (os.Stdout when nil: Lambda ships stdout to
// CloudWatch Logs).
func New(w io.Writer) *Writer {
	if w == nil {
		w = os.Stdout
	}
	return &Writer{w: w, now: time.Now}
}

// WithClock sets the clock that stamps lines, for tests.
func (w *Writer) WithClock(now func() time.Time) *Writer {
	w.now = now
	return w
}

// emfMetric and emfDirective are the "_aws" metadata of a line.
type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Emit writes one line: the metrics, all with the same dimensions (none is
// the dimensionless, aggregate metric). A nil Writer emits nothing.
func (w *Writer) Emit(dims []Dimension, metrics ...Metric) error {
	return w.EmitWith(dims, nil, metrics...)
}

// EmitWith is Emit with properties: fields of the line that are neither
// dimensions nor metrics (CloudWatch Logs Insights can query them).
func (w *Writer) EmitWith(dims []Dimension, props map[string]string, metrics ...Metric) error {
	if w == nil || len(metrics) == 0 {
		return nil
	}
	line := make(map[string]any, 1+len(dims)+len(props)+len(metrics))
	for k, v := range props {
		line[k] = v
	}
	names := make([]string, 0, len(dims))
	for _, d := range dims {
		if _, clash := line[d.Name]; clash {
			return fmt.Errorf("emit metrics: %q is both a property and a dimension", d.Name)
		}
		names = append(names, d.Name)
		line[d.Name] = d.Value
	}
	dir := emfDirective{Namespace: Namespace, Dimensions: [][]string{names}}
	for _, m := range metrics {
		if _, clash := line[m.Name]; clash {
			return fmt.Errorf("emit metrics: %q is both a dimension or property and a metric", m.Name)
		}
		dir.Metrics = append(dir.Metrics, emfMetric{Name: m.Name, Unit: m.Unit})
		line[m.Name] = m.Value
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	line["_aws"] = emfMeta{Timestamp: w.now().UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("emit metrics: %w", err)
	}
	if _, err := w.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("emit metrics: %w", err)
	}
	return nil
}
