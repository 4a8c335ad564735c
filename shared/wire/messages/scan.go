package messages

import (
	"encoding/json"

	"github.com/codexgate/codexgate/shared/jsonscan"
)

// The upstream's events are decoded by skimming: the few wanted fields are
// found without decoding the rest (response.created and response.completed
// echo the whole request and answer), and only their small values are
// decoded. Translation CPU is what the Messages front adds to every event.

// jsonString decodes a raw JSON string ("" for anything else).
func jsonString(raw []byte) string {
	s, _ := jsonscan.String(raw) // anything else is ""
	return s
}

func jsonInt(raw []byte) int {
	n := 0
	for _, c := range raw { // a JSON integer; anything else (absent, malformed) is 0
		if c < '0' || c > '9' || n > 1<<40 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// decodeInto decodes a raw value that is present and not null.
func decodeInto(raw []byte, v any) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}
