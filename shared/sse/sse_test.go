package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// names records what a Watcher is shown.
type names []string

func (n *names) SeeEvent(name, _ []byte) { *n = append(*n, string(name)) }

// readAll reads src to its end with Next (or NextEvent), returning the
// events handed out and the final error.
func readAll(src io.Reader, one bool, w Watcher) ([]string, error) {
	r := NewReader(src, w)
	defer r.Release()
	var out []string
	for {
		next := r.Next
		if one {
			next = r.NextEvent
		}
		b, err := next()
		if err != nil {
			return out, err
		}
		for len(b) > 0 {
			n := Len(b)
			out = append(out, string(b[:n]))
			b = b[n:]
		}
	}
}

func TestReader_Next_Cases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     string
		want    []string
		wantErr error
	}{
		{"two events", "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", []string{"event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n"}, io.EOF},
		{"CRLF", "event: a\r\ndata: 1\r\n\r\n", []string{"event: a\r\ndata: 1\r\n\r\n"}, io.EOF},
		{"cut last event", "event: a\ndata: 1\n\nevent: b\ndata:", []string{"event: a\ndata: 1\n\n"}, io.ErrUnexpectedEOF},
		{"trailing blank space", "data: 1\n\n\n", []string{"data: 1\n\n"}, io.EOF},
		{"empty", "", nil, io.EOF},
	} {
		for _, one := range []bool{false, true} {
			for _, halve := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tc.src)
				if halve {
					src = iotest.HalfReader(src)
				}
				got, err := readAll(src, one, nil)
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || !errors.Is(err, tc.wantErr) {
					t.Errorf("%s (one %v, half reads %v): %q, %v; want %q, %v", tc.name, one, halve, got, err, tc.want, tc.wantErr)
				}
			}
		}
	}
}

func TestReader_Next_GrowsForLargeEvents(t *testing.T) {
	big := "data: " + strings.Repeat("x", 3*BufferSize) + "\n\n"
	got, err := readAll(strings.NewReader("event: a\ndata: 1\n\n"+big+"event: b\ndata: 2\n\n"), false, nil)
	if err != io.EOF || len(got) != 3 || got[1] != big {
		t.Fatalf("%d events, %v", len(got), err)
	}
}

func TestReader_Next_EventTooLarge(t *testing.T) {
	src := io.MultiReader(strings.NewReader("data: "), iotest.OneByteReader(bytes.NewReader(nil)), zeros{})
	if _, err := readAll(src, false, nil); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
}

// zeros is an endless stream without a line end.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReader_Watcher_SeesEveryEventOnce(t *testing.T) {
	var seen names
	src := "event: a\ndata: 1\n\ndata: {\"type\":\"b\"}\n\n: comment\nevent: c\ndata: 3\n\nevent: d\r\ndata: 4\r\n\r\n"
	if _, err := readAll(iotest.HalfReader(strings.NewReader(src)), false, &seen); err != io.EOF {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ","); got != "a,,c,d" {
		t.Errorf("watcher saw %q, want a,,c,d (no event: field is an empty name)", got)
	}
}

// The relay splits every event and shows it to its watcher; on the deltas
// that make up almost all of a turn that must not allocate.
func TestReader_Next_NoAllocsPerEvent(t *testing.T) {
	ev := "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"a\"}\n\n"
	src := strings.NewReader(strings.Repeat(ev, 100))
	var w nopWatcher
	r := NewReader(src, w)
	defer r.Release()
	if n := testing.AllocsPerRun(50, func() {
		if _, err := r.NextEvent(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("NextEvent allocates %v times per event, want 0", n)
	}
}

type nopWatcher struct{}

func (nopWatcher) SeeEvent(_, _ []byte) {}

func TestNames_View_MatchesParse(t *testing.T) {
	for _, raw := range []string{
		"event: response.output_text.delta\ndata: {\"delta\":\"a\"}\n\n",
		"event: response.output_text.delta\r\ndata: {\"delta\":\"a\"}\r\n\r\n",
		"data: {\"type\":\"response.completed\",\"response\":{}}\n\n",
		"event: x\ndata: line1\ndata: line2\n\n",
		": comment\nevent: error\ndata: {}\n\n",
		"event:response.created\ndata:{}\n\n",
		"event: custom.name\ndata: {}\n\n",
	} {
		got, want := NewNames("response.output_text.delta").View([]byte(raw)), Parse([]byte(raw))
		if got.Name != want.Name || string(got.Data) != string(want.Data) {
			t.Errorf("%q: View %q %q, Parse %q %q", raw, got.Name, got.Data, want.Name, want.Data)
		}
	}
}

func TestNames_View_NoAllocs(t *testing.T) {
	n := NewNames("response.output_text.delta")
	raw := []byte("event: response.output_text.delta\ndata: {\"delta\":\"a\"}\n\n")
	if a := testing.AllocsPerRun(100, func() { n.View(raw) }); a != 0 {
		t.Errorf("View allocates %v times, want 0", a)
	}
}

func TestName_Cases(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"event: a\ndata: 1\n\n", "a"},
		{"data: 1\nevent:b\r\n\r\n", "b"},
		{"data: {\"type\":\"c\"}\n\n", ""},
	} {
		if got := string(Name([]byte(tc.raw))); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestAppend_ParsesBack(t *testing.T) {
	raw := Append([]byte("x"), "message_stop", []byte(`{"type":"message_stop"}`))[1:]
	if ev := Parse(raw); ev.Name != "message_stop" || string(ev.Data) != `{"type":"message_stop"}` || Len(raw) != len(raw) {
		t.Errorf("Append wrote %q", raw)
	}
}
