package responses

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/codexgate/codexgate/shared/jsonscan"
)

// Usage is a response's usage object, flattened.
type Usage struct {
	InputTokens     int64
	CachedTokens    int64 // part of InputTokens
	OutputTokens    int64
	ReasoningTokens int64 // part of OutputTokens
	// TotalTokens is the backend's total; 0 when it sent none or one that
	// is not an integer (nothing is counted from it).
	TotalTokens int64
}

// FinalUsage reads the model and usage of a response.completed or
// response.incomplete event's data. ok is false when the event carries no
// usage object, or a malformed one. The event holds the whole answer: it
// is skimmed (jsonscan) and only the model and the counts are decoded,
// without reflection, since every answer pays for it.
func FinalUsage(data []byte) (model string, u Usage, ok bool) {
	var resp [1][]byte
	var f [2][]byte
	if _, ok := jsonscan.FieldsInto(resp[:], data, responseKey); !ok || resp[0] == nil {
		return "", Usage{}, false
	}
	if _, ok := jsonscan.FieldsInto(f[:], resp[0], modelUsageKeys); !ok || f[1] == nil {
		return "", Usage{}, false
	}
	if u, ok = DecodeUsage(f[1]); !ok {
		return "", Usage{}, false
	}
	if model, ok = jsonString(f[0]); !ok {
		return "", Usage{}, false
	}
	return model, u, true
}

// DecodeUsage decodes a raw usage object. ok is false for anything but an
// object whose counts are integers (absent or null counts are 0).
func DecodeUsage(raw []byte) (Usage, bool) {
	var c [5][]byte
	if _, ok := jsonscan.FieldsInto(c[:], raw, usageKeys); !ok {
		return Usage{}, false // null or not an object
	}
	var u Usage
	var ok [4]bool
	u.InputTokens, ok[0] = tokenCount(c[0])
	u.CachedTokens, ok[1] = detailCount(c[1], cachedKey)
	u.OutputTokens, ok[2] = tokenCount(c[2])
	u.ReasoningTokens, ok[3] = detailCount(c[3], reasoningKey)
	u.TotalTokens, _ = tokenCount(c[4])
	if ok != [4]bool{true, true, true, true} {
		return Usage{}, false
	}
	return u, true
}

var (
	responseKey    = []string{"response"}
	modelUsageKeys = []string{"model", "usage"}
	usageKeys      = []string{"input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens"}
	cachedKey      = []string{"cached_tokens"}
	reasoningKey   = []string{"reasoning_tokens"}
)

// tokenCount decodes a raw JSON count: absent or null is 0.
func tokenCount(raw []byte) (int64, bool) {
	if raw == nil || string(raw) == "null" {
		return 0, true
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// detailCount decodes key of a raw details object: absent or null is 0.
func detailCount(raw []byte, key []string) (int64, bool) {
	if raw == nil || string(raw) == "null" {
		return 0, true
	}
	var v [1][]byte
	if _, ok := jsonscan.FieldsInto(v[:], raw, key); !ok {
		return 0, false
	}
	return tokenCount(v[0])
}

// jsonString decodes a raw JSON string: absent or null is "".
func jsonString(raw []byte) (string, bool) {
	switch {
	case raw == nil || string(raw) == "null":
		return "", true
	case len(raw) < 2 || raw[0] != '"':
		return "", false
	case bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}
