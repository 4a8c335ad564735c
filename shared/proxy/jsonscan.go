package proxy

import "bytes"

// topLevelFields returns the raw values of the wanted keys of a JSON object
// that json.Valid already accepted, without decoding anything else. It is
// what lets a multi-megabyte Codex history be checked in one validating
// pass plus one memchr-speed skim, instead of a full decode. Keys are
// compared as raw bytes (an escaped key does not match); the last
// occurrence of a duplicate key wins, as in encoding/json. A non-object
// document returns ok=false.
func topLevelFields(doc []byte, keys ...string) (vals [][]byte, ok bool) {
	vals = make([][]byte, len(keys))
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
		key := doc[i+1 : keyEnd-1]
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
		// An odd number of backslashes before the quote escapes it.
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// skipValue returns the index after the (valid) value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
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
				return i // end of the enclosing object
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
