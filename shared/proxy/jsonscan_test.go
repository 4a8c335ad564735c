package proxy

import (
	"encoding/json"
	"testing"
)

func TestTopLevelFields(t *testing.T) {
	tests := []struct {
		doc    string
		want   []string // stream, store, prompt_cache_key; "" = absent
		wantOK bool
	}{
		{`{"stream":true,"store":false,"prompt_cache_key":"k"}`, []string{"true", "false", `"k"`}, true},
		{` { "input" : [ {"a":"}]\"{"} , [1,{"stream":false}] ], "stream" : false } `, []string{"false", "", ""}, true},
		{`{"x":{"stream":true},"y":"\\","prompt_cache_key":"a\"b"}`, []string{"", "", `"a\"b"`}, true},
		{`{"stream":true,"stream":false}`, []string{"false", "", ""}, true},
		{`{"stream":null,"n":-1.5e3,"store":{}}`, []string{"null", "{}", ""}, true},
		{`{}`, []string{"", "", ""}, true},
		{`[{"stream":true}]`, nil, false},
		{`"s"`, nil, false},
		{`12`, nil, false},
	}
	for _, tt := range tests {
		if !json.Valid([]byte(tt.doc)) {
			t.Fatalf("test doc invalid: %s", tt.doc)
		}
		vals, ok := topLevelFields([]byte(tt.doc), "stream", "store", "prompt_cache_key")
		if ok != tt.wantOK {
			t.Errorf("%s: ok = %v", tt.doc, ok)
			continue
		}
		for i, w := range tt.want {
			if string(vals[i]) != w {
				t.Errorf("%s: field %d = %q, want %q", tt.doc, i, vals[i], w)
			}
		}
	}
}

func FuzzTopLevelFields(f *testing.F) {
	f.Add(`{"stream":true,"input":[{"a":"b\"c"}],"store":false}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		vals, ok := topLevelFields([]byte(doc), "stream", "store")
		var m map[string]json.RawMessage
		isObj := json.Unmarshal([]byte(doc), &m) == nil
		if ok != isObj {
			t.Fatalf("ok = %v, object = %v: %s", ok, isObj, doc)
		}
		if !ok {
			return
		}
		for i, k := range []string{"stream", "store"} {
			want, has := m[k]
			if has != (vals[i] != nil) {
				// An escaped key in the document ("str\u0065am") decodes
				// to the key but is not matched raw: allowed.
				continue
			}
			if has && !json.Valid(vals[i]) {
				t.Fatalf("%s value %q invalid: %s", k, vals[i], doc)
			}
			_ = want
		}
	})
}
