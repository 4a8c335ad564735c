package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/quick"
)

func TestAppendString_MatchesEncodingJSON(t *testing.T) {
	marshal := func(s string, html bool) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		enc.Encode(s) //nolint:errcheck // a string always encodes
		return strings.TrimSuffix(b.String(), "\n")
	}
	cases := []string{"", "plain", `quote " backslash \ slash /`, "\n\r\t\b\f\x00\x1f\x7f", "<a href='x'>&amp;</a>",
		"émoji 😀 and ü", "\u2028\u2029", "bad utf8 \xff\xfe end", "trunc \xe2\x82", strings.Repeat("x", 300)}
	for _, html := range []bool{true, false} {
		for _, s := range cases {
			if got, want := string(AppendString(nil, s, html)), marshal(s, html); got != want {
				t.Errorf("html %v, %q: got %s, want %s", html, s, got, want)
			}
		}
		f := func(b []byte) bool { return string(AppendString(nil, string(b), html)) == marshal(string(b), html) }
		if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
			t.Errorf("html %v: %v", html, err)
		}
	}
}

func TestFields_Cases(t *testing.T) {
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
		{`{"delta":12 ,"item_id":null}`, `12`, `null`, true},
		{`{}`, "", "", true},
		{`[1]`, "", "", false},
		{`{"delta":"unterminated`, "", "", false},
		{`{"delta" "no colon"}`, "", "", false},
		{`{"a":[1,2`, "", "", false},
		{``, "", "", false},
	} {
		v, ok := Fields([]byte(tc.doc), "delta", "item_id")
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.doc, ok)
			continue
		}
		if ok && (string(v[0]) != tc.delta || string(v[1]) != tc.id) {
			t.Errorf("%s: got %q %q", tc.doc, v[0], v[1])
		}
	}
}

// FuzzFields: on any valid JSON object, Fields agrees with encoding/json.
func FuzzFields(f *testing.F) {
	for _, seed := range []string{`{"model":"m","input":[{"a":"}"}],"stream":true}`, `{"model":"x\"y","model":"last"}`, `{"input":"s","k":{"model":1}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var want map[string]json.RawMessage
		if json.Unmarshal([]byte(doc), &want) != nil || !json.Valid([]byte(doc)) {
			return
		}
		got, ok := Fields([]byte(doc), "model", "input", "stream")
		if !ok {
			t.Fatalf("valid object not read: %s", doc)
		}
		for i, k := range []string{"model", "input", "stream"} {
			w, present := want[k]
			if present != (got[i] != nil) {
				t.Fatalf("%s: key %s present %v, got %q", doc, k, present, got[i])
			}
			if present && !bytes.Equal(bytes.TrimSpace(w), got[i]) {
				var a, b any
				if json.Unmarshal(w, &a) != nil || json.Unmarshal(got[i], &b) != nil || !jsonEqual(a, b) {
					t.Fatalf("%s: key %s = %q, encoding/json %q", doc, k, got[i], w)
				}
			}
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestString_Decodes(t *testing.T) {
	for raw, want := range map[string]string{`"plain"`: "plain", `"a\nb\u00e9"`: "a\nbé", `"\"q\""`: `"q"`} {
		if got, err := String([]byte(raw)); err != nil || got != want {
			t.Errorf("%s: %q %v", raw, got, err)
		}
	}
	if _, err := String([]byte(`12`)); err == nil {
		t.Error("a number decoded as a string")
	}
	if s, err := String(nil); s != "" || err != nil {
		t.Error("absent value")
	}
}

func TestFields_NestedAndMalformed(t *testing.T) {
	doc := []byte(` {"a" : 1, "s":"x\"}y", "o":{"a":2,"b":[1,{"c":"}"}]}, "a":3 , "n":null} `)
	f, ok := Fields(doc, "a", "s", "o", "n", "missing")
	s, _ := String(f[1])
	if !ok || string(f[0]) != "3" || s != `x"}y` || string(f[2]) != `{"a":2,"b":[1,{"c":"}"}]}` || string(f[3]) != "null" || f[4] != nil {
		t.Errorf("Fields = %q, %v", f, ok)
	}
	for _, bad := range []string{"", "[]", `"s"`, `{"a"`, `{"a":1`, `{1:2}`} {
		if _, ok := Fields([]byte(bad), "a"); ok {
			t.Errorf("Fields(%q) accepted", bad)
		}
	}
}
