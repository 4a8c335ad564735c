// Package jsonscan reads the few top-level fields a hot path needs from a
// JSON document without decoding the rest, and writes JSON strings exactly
// as encoding/json would. The proxy uses it to check multi-megabyte request
// bodies in one skim, and the API fronts to translate one small upstream
// event per token; everything rarer goes through encoding/json.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Fields returns the raw values of keys in the JSON object doc, nil for a
// key that is absent, without decoding anything else. Keys are compared as
// raw bytes (an escaped key does not match); the last occurrence of a
// duplicate key wins, as in encoding/json. ok is false when doc is not an
// object or ends early; the values are not validated (callers decode the
// few they need).
func Fields(doc []byte, keys ...string) (vals [][]byte, ok bool) {
	return FieldsInto(make([][]byte, len(keys)), doc, keys)
}

// FieldsInto is Fields writing into vals (len(keys) long), so that a caller
// on a hot path can keep it on the stack.
func FieldsInto(vals [][]byte, doc []byte, keys []string) ([][]byte, bool) {
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipWS(doc, i)
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
		end := strEnd(doc, i)
		if end < 0 {
			return nil, false
		}
		key := doc[i+1 : end-1]
		i = skipWS(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipWS(doc, i+1)
		vend := valueEnd(doc, i)
		if vend < 0 {
			return nil, false
		}
		for k, want := range keys {
			if string(key) == want {
				vals[k] = doc[i:vend]
			}
		}
		i = vend
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// strEnd returns the index just after the string that starts at b[i]
// ('"'), or -1.
func strEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// An odd number of backslashes before the quote escapes it.
		n := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
	return -1
}

// valueEnd returns the index just after the value that starts at b[i], or
// -1 when the document ends first.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return strEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = strEnd(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	for j := i; j < len(b); j++ { // number, true, false, null
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(b)
}

// String decodes a raw JSON string value ("" for a missing value); a value
// that is not a string is an error.
func String(raw []byte) (string, error) {
	if raw == nil {
		return "", nil
	}
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0 && bytes.IndexByte(raw[1:len(raw)-1], '"') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil // no escapes: the common case
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped byte for byte as
// encoding/json escapes it (U+2028/U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD; with escapeHTML, '<', '>' and '&' too, as json.Marshal does, and
// without, as an Encoder with SetEscapeHTML(false) does), so hand-written
// events equal marshalled ones.
func AppendString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
