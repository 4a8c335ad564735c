package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/smithy-go/logging"
)

func TestSDKLogger_DebugOnlyAndStructured(t *testing.T) {
	var buf bytes.Buffer
	SDKLogger(slog.New(slog.NewJSONHandler(&buf, nil))).Logf(logging.Warn, "failed to discard %s", "body")
	if buf.Len() != 0 {
		t.Fatalf("at info level the SDK's lines are dropped, got %q", buf.String())
	}
	SDKLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).Logf(logging.Warn, "failed to discard %s", "body")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", buf.String(), err)
	}
	if line["level"] != "DEBUG" || line["msg"] != "failed to discard body" || line["source"] != "aws-sdk" || line["sdk_level"] != "WARN" {
		t.Fatalf("line = %v", line)
	}
}
