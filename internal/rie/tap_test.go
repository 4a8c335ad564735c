package rie

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// TestStartTapped_SeesTheFirstByte runs a bootstrap that streams three
// events 300 ms apart: the emulator's client gets the whole answer at the
// end (the emulator buffers it), the tap sees the first event leave the
// bootstrap 600 ms before the last.
func TestStartTapped_SeesTheFirstByte(t *testing.T) {
	bin, err := Find()
	if errors.Is(err, ErrNotFound) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	boot, err := testsupport.GoBuild(t, "./internal/rie/testdata/paced", "-tags", "lambda.norpc")
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartTapped(bin, boot, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sent := time.Now()
	b, err := c.Invoke(ctx, APIGatewayEvent("GET", "/", nil, ""))
	got := time.Now()
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, c.Log())
	}
	_, body, err := SplitStreamed(b)
	if err != nil || string(body) != "data: 0\n\ndata: 1\n\ndata: 2\n\n" {
		t.Fatalf("answer %q, %v", b, err)
	}
	a := c.Tap().Last()
	if a.Delivered.IsZero() || a.FirstByte.IsZero() || a.End.IsZero() || a.Bytes != int64(len(body)) {
		t.Fatalf("tap saw %+v", a)
	}
	if !(sent.Before(a.Delivered) && a.Delivered.Before(a.FirstByte) && !a.LastByte.After(a.End) && !a.End.After(got)) {
		t.Errorf("out of order: sent %v, tap %+v, answer %v", sent, a, got)
	}
	if d := a.LastByte.Sub(a.FirstByte); d < 500*time.Millisecond {
		t.Errorf("tap: last byte %v after the first, want >= 500ms (the events are 300ms apart)", d)
	}
	if d := got.Sub(a.FirstByte); d < 500*time.Millisecond {
		t.Errorf("the emulator's answer ended %v after the tap's first byte: it no longer buffers? (then its client can time the first byte itself)", d)
	}
}
