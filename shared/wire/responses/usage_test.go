package responses

import (
	"encoding/json"
	"strings"
	"testing"
)

// modelUsage is FinalUsage's answer in one comparable value.
type modelUsage struct {
	Model                                                    string
	InputTokens, CachedTokens, OutputTokens, ReasoningTokens int64
}

func finalUsage(data []byte) (modelUsage, bool) {
	m, u, ok := FinalUsage(data)
	return modelUsage{m, u.InputTokens, u.CachedTokens, u.OutputTokens, u.ReasoningTokens}, ok
}

func TestFinalUsage_Cases(t *testing.T) {
	full := modelUsage{Model: "gpt-5-codex", InputTokens: 7, CachedTokens: 3, OutputTokens: 5, ReasoningTokens: 2}
	usage := `"usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":3},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2}}`
	for _, tc := range []struct {
		name, data string
		want       modelUsage
		ok         bool
	}{
		{"completed", `{"type":"response.completed","response":{"id":"r","output":[{"text":"a \"usage\": {}"}],"model":"gpt-5-codex",` + usage + `}}`, full, true},
		{"usage before model", `{"response":{` + usage + `,"model":"gpt-5-codex"}}`, full, true},
		{"no model", `{"response":{` + usage + `}}`, modelUsage{InputTokens: 7, CachedTokens: 3, OutputTokens: 5, ReasoningTokens: 2}, true},
		{"usage null", `{"response":{"model":"m","usage":null}}`, modelUsage{}, false},
		{"no usage", `{"response":{"model":"m"}}`, modelUsage{}, false},
		{"no response", `{"type":"response.completed"}`, modelUsage{}, false},
		{"usage not an object", `{"response":{"usage":"many"}}`, modelUsage{}, false},
		{"cut", `{"response":{"model":"m",` + usage[:30], modelUsage{}, false},
		{"details null or absent", `{"response":{"model":"m","usage":{"input_tokens":7,"input_tokens_details":null,"output_tokens":5}}}`, modelUsage{Model: "m", InputTokens: 7, OutputTokens: 5}, true},
		{"escaped model", `{"response":{"model":"gpt-5\u002dcodex","usage":{"input_tokens":1}}}`, modelUsage{Model: "gpt-5-codex", InputTokens: 1}, true},
		{"count as a string", `{"response":{"usage":{"input_tokens":"7"}}}`, modelUsage{}, false},
		{"fractional count", `{"response":{"usage":{"output_tokens":5.5}}}`, modelUsage{}, false},
		{"detail not an object", `{"response":{"usage":{"input_tokens_details":3}}}`, modelUsage{}, false},
		{"model not a string", `{"response":{"model":5,"usage":{}}}`, modelUsage{}, false},
		{"not JSON", `usage`, modelUsage{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := finalUsage([]byte(tc.data))
			if ok != tc.ok || got != tc.want {
				t.Errorf("FinalUsage = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzFinalUsage checks the skimming decoder against encoding/json: where
// the whole event decodes and carries a usage object, both read the same.
// encoding/json also matches keys case-insensitively and unescaped; the
// skim (like the backend) takes them as written, so such inputs are left
// out.
func FuzzFinalUsage(f *testing.F) {
	f.Add(`{"type":"response.completed","response":{"model":"gpt-5-codex","output":[{"text":"\"usage\""}],"usage":{"input_tokens":7,"input_tokens_details":{"cached_tokens":3},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2}}}}`)
	f.Add(`{"response":{"usage":{"input_tokens":1,"input_tokens_details":null},"model":"a\nb"}}`)
	f.Fuzz(func(t *testing.T, data string) {
		var ref struct {
			Response struct {
				Model string `json:"model"`
				Usage *struct {
					InputTokens        int64 `json:"input_tokens"`
					InputTokensDetails *struct {
						CachedTokens int64 `json:"cached_tokens"`
					} `json:"input_tokens_details"`
					OutputTokens        int64 `json:"output_tokens"`
					OutputTokensDetails *struct {
						ReasoningTokens int64 `json:"reasoning_tokens"`
					} `json:"output_tokens_details"`
				} `json:"usage"`
			} `json:"response"`
		}
		got, ok := finalUsage([]byte(data))
		if json.Unmarshal([]byte(data), &ref) != nil || ref.Response.Usage == nil || !exactKeys(data) {
			return
		}
		u := ref.Response.Usage
		want := modelUsage{Model: ref.Response.Model, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
		if u.InputTokensDetails != nil {
			want.CachedTokens = u.InputTokensDetails.CachedTokens
		}
		if u.OutputTokensDetails != nil {
			want.ReasoningTokens = u.OutputTokensDetails.ReasoningTokens
		}
		if !ok || got != want {
			t.Errorf("FinalUsage(%q) = %+v, %v; encoding/json reads %+v", data, got, ok, want)
		}
	})
}

// exactKeys reports whether every key FinalUsage reads appears in data only
// as written, and no key is escaped.
func exactKeys(data string) bool {
	if strings.Contains(data, `\u`) {
		return false
	}
	lower := strings.ToLower(data)
	for _, k := range []string{"response", "model", "usage", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "input_tokens_details", "output_tokens_details"} {
		if strings.Count(lower, `"`+k+`"`) != strings.Count(data, `"`+k+`"`) {
			return false
		}
	}
	return true
}

func TestDecodeUsage_TotalTokens(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      int64
	}{
		{"sent", `{"input_tokens":1,"total_tokens":9}`, 9},
		{"absent", `{"input_tokens":1}`, 0},
		{"not an integer: ignored", `{"input_tokens":1,"total_tokens":"9"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, ok := DecodeUsage([]byte(tc.raw))
			if !ok || u.TotalTokens != tc.want || u.InputTokens != 1 {
				t.Errorf("DecodeUsage = %+v, %v; want total %d", u, ok, tc.want)
			}
		})
	}
}
