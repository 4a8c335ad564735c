package messages

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The upstream's events are decoded by skimming: the few wanted fields are
// found without decoding the rest (response.created and response.completed
// echo the whole request and answer), and only their small values are
// decoded. Translation CPU is what the Messages front adds to every event.

// fields returns the raw values of the wanted top-level keys of a JSON
// object (nil when absent; the last duplicate wins, as in encoding/json).
// Keys are compared as raw bytes. ok is false when doc is not an object.
func fields(doc []byte, keys ...string) (vals [][]byte, ok bool) {
	return fieldsInto(make([][]byte, len(keys)), doc, keys)
}

// fieldsInto is fields writing into vals (len(keys) long), so a caller can
// keep it on the stack.
func fieldsInto(vals [][]byte, doc []byte, keys []string) ([][]byte, bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case '}':
			return vals, true
		case ',':
			i++
			continue
		case '"':
		default:
			return nil, false
		}
		keyEnd := skipString(doc, i)
		key := doc[i+1 : max(keyEnd-1, i+1)]
		i = skipSpace(doc, keyEnd)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipSpace(doc, i+1)
		end := skipValue(doc, i)
		for k, want := range keys {
			if string(key) == want {
				vals[k] = bytes.TrimRight(doc[i:end], " \t\r\n")
			}
		}
		i = end
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		n := 0 // an odd number of backslashes escapes the quote
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// jsonString decodes a raw JSON string ("" for anything else). A string
// without escapes is its own content.
func jsonString(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	json.Unmarshal(raw, &s) //nolint:errcheck // malformed: empty
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

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does without HTML escaping (so hand-written and marshalled events agree).
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			default:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
