package chat

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzConverter_Event: arbitrary event data never panics the converter.
func FuzzConverter_Event(f *testing.F) {
	for _, seed := range []string{`{"delta":"x","item_id":"m"}`, `{"response":{"id":"r","usage":{"input_tokens":1}}}`, `{"item":{"type":"function_call","id":"f"}}`, `{"delta":"\`} {
		f.Add(seed)
	}
	names := []string{"response.created", "response.output_text.delta", "response.function_call_arguments.delta",
		"response.output_item.added", "response.output_item.done", "response.completed", "response.incomplete"}
	f.Fuzz(func(t *testing.T, data string) {
		for _, stream := range []bool{true, false} {
			c := NewConverter(&Translated{Model: "m", Stream: stream})
			for _, n := range names {
				out, _, _ := c.Event(nil, n, []byte(data))
				if stream && len(out) > 0 && !json.Valid([]byte(strings.TrimSuffix(strings.TrimPrefix(strings.Split(string(out), "\n\n")[0], "data: "), "\n"))) {
					t.Fatalf("%s produced invalid JSON: %q", n, out)
				}
			}
		}
	})
}
