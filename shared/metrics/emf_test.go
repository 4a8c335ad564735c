package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

var stamp = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)

func TestWriter_Emit_Shape(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf).WithClock(func() time.Time { return stamp })
	err := w.Emit([]Dimension{{DimAccount, "work"}, {DimWindow, "5h"}}, Metric{UsedPercent, Percent, 42.5})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(nil, Metric{ReauthRequired, Count, 1}, Metric{RefreshFailures, Count, 0}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q", lines)
	}
	want := []string{
		`{"Account":"work","UsedPercent":42.5,"Window":"5h","_aws":{"Timestamp":1767323045006,"CloudWatchMetrics":[{"Namespace":"codexgate","Dimensions":[["Account","Window"]],"Metrics":[{"Name":"UsedPercent","Unit":"Percent"}]}]}}`,
		`{"ReauthRequired":1,"RefreshFailures":0,"_aws":{"Timestamp":1767323045006,"CloudWatchMetrics":[{"Namespace":"codexgate","Dimensions":[[]],"Metrics":[{"Name":"ReauthRequired","Unit":"Count"},{"Name":"RefreshFailures","Unit":"Count"}]}]}}`,
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d =\n%s\nwant\n%s", i, lines[i], want[i])
		}
	}
}

func TestWriter_Emit_Clash(t *testing.T) {
	if err := New(&bytes.Buffer{}).Emit([]Dimension{{"X", "a"}}, Metric{"X", Count, 1}); err == nil {
		t.Fatal("want an error when a metric shadows a dimension")
	}
	var nilW *Writer
	if err := nilW.Emit(nil, Metric{Refreshes, Count, 1}); err != nil {
		t.Fatalf("nil writer: %v", err)
	}
}

// Concurrent emitters never interleave within a line.
func TestWriter_Emit_Concurrent(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				_ = w.Emit([]Dimension{{DimAccount, strings.Repeat("a", i+1)}}, Metric{LimitReached, Count, 1})
			}
		})
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d not JSON: %v", n, err)
		}
		n++
	}
	if n != 400 {
		t.Errorf("lines = %d, want 400", n)
	}
}

func TestRefreshEvents_OneLineEach(t *testing.T) {
	var buf bytes.Buffer
	e := RefreshEvents{W: New(&buf)}
	e.RotatedTokenNotStored("a")
	e.LeaseOutlived("a")
	e.ReauthRequired("a", "refresh_token_reused")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines = %q", lines)
	}
	for i, name := range []string{RotatedTokenNotStored, LeaseOutlived, ReauthRequired} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil || m[name] != float64(1) {
			t.Errorf("line %d = %s, want %s = 1", i, lines[i], name)
		}
	}
}

func TestBudgetEvents_BudgetRefused_OneLine(t *testing.T) {
	var buf bytes.Buffer
	e := BudgetEvents{W: New(&buf).WithClock(func() time.Time { return stamp })}
	e.BudgetRefused("intern", "weekly")
	want := `{"Budget":"weekly","BudgetRefused":1,"Key":"intern","_aws":{"Timestamp":1767323045006,"CloudWatchMetrics":[{"Namespace":"codexgate","Dimensions":[["Key"]],"Metrics":[{"Name":"BudgetRefused","Unit":"Count"}]}]}}` + "\n"
	if buf.String() != want {
		t.Errorf("line =\n%s\nwant\n%s", buf.String(), want)
	}
	BudgetEvents{}.BudgetRefused("intern", "daily") // no writer: nothing, no panic
}

func TestAvailabilityEvents_NoAccountAvailable_OneDimensionlessLine(t *testing.T) {
	var buf bytes.Buffer
	e := AvailabilityEvents{W: New(&buf).WithClock(func() time.Time { return stamp })}
	e.NoAccountAvailable()
	// Dimensionless: NoAccountAvailableAlarm in template.yaml watches the
	// metric without dimensions.
	want := `{"NoAccountAvailable":1,"_aws":{"Timestamp":1767323045006,"CloudWatchMetrics":[{"Namespace":"codexgate","Dimensions":[[]],"Metrics":[{"Name":"NoAccountAvailable","Unit":"Count"}]}]}}` + "\n"
	if buf.String() != want {
		t.Errorf("line =\n%s\nwant\n%s", buf.String(), want)
	}
	AvailabilityEvents{}.NoAccountAvailable() // no writer: nothing, no panic
}

func TestWriter_EmitWith_PropertyClash(t *testing.T) {
	w := New(&bytes.Buffer{})
	if err := w.EmitWith([]Dimension{{DimKey, "a"}}, map[string]string{DimKey: "b"}, Metric{BudgetRefused, Count, 1}); err == nil {
		t.Error("want an error when a property shadows a dimension")
	}
	if err := w.EmitWith(nil, map[string]string{BudgetRefused: "x"}, Metric{BudgetRefused, Count, 1}); err == nil {
		t.Error("want an error when a property shadows a metric")
	}
}
