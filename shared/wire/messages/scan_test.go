package messages

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendJSONString_MatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\r\b\f", "\x00\x01\x1f", "<html> & é 日本 🎉", "bad \xff utf8", "sep \u2028 \u2029", "\x7f"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("appendJSONString(%q) = %s, encoding/json %s", s, got, want.Bytes())
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c\n\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s) //nolint:errcheck
		if got := appendJSONString(nil, s); string(got) != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("differs from encoding/json for %q: %s", s, got)
		}
	})
}

func TestFields(t *testing.T) {
	doc := []byte(` {"a" : 1, "s":"x\"}y", "o":{"a":2,"b":[1,{"c":"}"}]}, "a":3 , "n":null} `)
	f, ok := fields(doc, "a", "s", "o", "n", "missing")
	if !ok || string(f[0]) != "3" || jsonString(f[1]) != `x"}y` || string(f[2]) != `{"a":2,"b":[1,{"c":"}"}]}` || string(f[3]) != "null" || f[4] != nil {
		t.Errorf("fields = %q, %v", f, ok)
	}
	for _, bad := range []string{"", "[]", `"s"`, `{"a"`, `{"a":1`, `{1:2}`} {
		if _, ok := fields([]byte(bad), "a"); ok {
			t.Errorf("fields(%q) accepted", bad)
		}
	}
}
