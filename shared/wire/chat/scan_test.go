package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/quick"
)

func TestAppendJSONString_MatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \ slash /`, "\n\r\t\b\f\x00\x1f\x7f", "<a href='x'>&amp;</a>",
		"émoji 😀 and ü", "\u2028\u2029", "bad utf8 \xff\xfe end", "trunc \xe2\x82", strings.Repeat("x", 300)} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
	f := func(b []byte) bool {
		want, _ := json.Marshal(string(b))
		return string(appendJSONString(nil, string(b))) == string(want)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000, Rand: nil}); err != nil {
		t.Error(err)
	}
}

func TestTopLevel_Cases(t *testing.T) {
	for _, tc := range []struct {
		doc       string
		delta, id string // raw values, "" = absent
		ok        bool
	}{
		{`{"delta":"hi","item_id":"m1"}`, `"hi"`, `"m1"`, true},
		{` { "item_id" : "m1" , "delta" : "a\"b\\" } `, `"a\"b\\"`, `"m1"`, true},
		{`{"x":{"delta":"nested"},"y":[1,{"item_id":"no"}],"delta":"top"}`, `"top"`, "", true},
		{`{"n":-1.5e3,"t":true,"f":null,"delta":"after scalars"}`, `"after scalars"`, "", true},
		{`{"delta":"x","delta":"last wins"}`, `"last wins"`, "", true},
		{`{}`, "", "", true},
		{`[1]`, "", "", false},
		{`{"delta":"unterminated`, "", "", false},
		{`{"delta" "no colon"}`, "", "", false},
		{`{"a":[1,2`, "", "", false},
		{``, "", "", false},
	} {
		v, ok := topLevel([]byte(tc.doc), "delta", "item_id")
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.doc, ok)
			continue
		}
		if ok && (string(v[0]) != tc.delta || string(v[1]) != tc.id) {
			t.Errorf("%s: got %q %q", tc.doc, v[0], v[1])
		}
	}
}

func TestRawString_Decodes(t *testing.T) {
	for raw, want := range map[string]string{`"plain"`: "plain", `"a\nb\u00e9"`: "a\nbé", `"\"q\""`: `"q"`} {
		if got, err := rawString([]byte(raw)); err != nil || got != want {
			t.Errorf("%s: %q %v", raw, got, err)
		}
	}
	if _, err := rawString([]byte(`12`)); err == nil {
		t.Error("a number decoded as a string")
	}
	if s, err := rawString(nil); s != "" || err != nil {
		t.Error("absent value")
	}
}

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
