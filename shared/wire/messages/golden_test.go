package messages

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/golden"
)

func indent(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTranslateRequest_Golden pins every request mapping: each
// testdata/request/NAME.json becomes NAME.golden (the Responses body and
// what the answer's translation needs, or the error a client gets).
func TestTranslateRequest_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/request/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no request cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := TranslateRequest(raw, defaultModels)
			if strings.HasPrefix(name, "err_") {
				e, ok := err.(*Error)
				if !ok {
					t.Fatalf("want an *Error, got %v", err)
				}
				golden.Check(t, "request/"+name+".golden", indent(t, map[string]any{"status": e.Status, "body": json.RawMessage(e.JSON())}))
				return
			}
			if err != nil {
				t.Fatalf("TranslateRequest: %v", err)
			}
			golden.Check(t, "request/"+name+".golden", indent(t, map[string]any{
				"stream":         tr.Stream,
				"model":          tr.Model,
				"thinking":       tr.Thinking,
				"stop_sequences": tr.StopSequences,
				"cache_key":      tr.CacheKey,
				"tool_names":     tr.toolNames,
				"body":           json.RawMessage(tr.Body),
			}))
		})
	}
}

// sseEvents splits an SSE document into (name, data) pairs.
func sseEvents(t *testing.T, doc []byte) [][2]string {
	t.Helper()
	var out [][2]string
	for _, ev := range strings.Split(strings.TrimSpace(string(doc)), "\n\n") {
		var name, data string
		for _, line := range strings.Split(ev, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			} else {
				t.Fatalf("bad SSE line %q", line)
			}
		}
		out = append(out, [2]string{name, data})
	}
	return out
}

func convert(t *testing.T, tr *Translation, upstream [][2]string) ([]byte, *Converter) {
	t.Helper()
	c := NewConverter(tr)
	var out []byte
	for _, ev := range upstream {
		out = c.Event(out, ev[0], []byte(ev[1]))
	}
	if !c.Done() {
		t.Fatal("the converter did not finish the answer")
	}
	return out, c
}

// TestConverter_Golden pins the answer mappings: each
// testdata/stream/NAME.sse (a Responses event stream) answers the request
// NAME.request.json as Anthropic SSE (NAME.stream.golden) and, for a
// non-streaming client, as a message object or error (NAME.message.golden).
// The events a streaming client gets must add up to the very message a
// non-streaming client gets.
func TestConverter_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/stream/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no stream cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			reqRaw, err := os.ReadFile(filepath.Join("testdata/stream", name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := TranslateRequest(reqRaw, defaultModels)
			if err != nil {
				t.Fatal(err)
			}
			upstream := sseEvents(t, doc)

			tr.Stream = true
			streamed, _ := convert(t, tr, upstream)
			golden.Check(t, "stream/"+name+".stream.golden", streamed)
			fromEvents, evErr := accumulate(t, sseEvents(t, streamed))

			tr.Stream = false
			_, c := convert(t, tr, upstream)
			var whole []byte
			if e := c.Err(); e != nil {
				whole = indent(t, map[string]any{"status": e.Status, "body": json.RawMessage(e.JSON())})
				if evErr == nil || evErr.Type != e.Type {
					t.Errorf("stream ended with error %v, message path with %v", evErr, e)
				}
			} else {
				var m any
				if err := json.Unmarshal(c.Message(), &m); err != nil {
					t.Fatal(err)
				}
				whole = indent(t, m)
				if !bytes.Equal(indent(t, fromEvents), whole) {
					t.Errorf("the streamed events add up to\n%s\nbut the message is\n%s", indent(t, fromEvents), whole)
				}
			}
			golden.Check(t, "stream/"+name+".message.golden", whole)
		})
	}
}

// accumulate rebuilds the message from Anthropic SSE events, as the SDKs
// do, checking the event grammar on the way: message_start first, blocks
// opened and closed in index order, deltas only into the open block,
// message_stop last.
func accumulate(t *testing.T, evs [][2]string) (map[string]any, *Error) {
	t.Helper()
	var msg map[string]any
	var content []map[string]any
	open := -1
	partial := ""
	for i, ev := range evs {
		var d map[string]any
		if err := json.Unmarshal([]byte(ev[1]), &d); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if d["type"] != ev[0] {
			t.Fatalf("event %d: name %q, data type %v", i, ev[0], d["type"])
		}
		if i == 0 && ev[0] != "message_start" {
			t.Fatalf("first event is %s", ev[0])
		}
		switch ev[0] {
		case "message_start":
			msg = d["message"].(map[string]any)
		case "content_block_start":
			if open != -1 || int(d["index"].(float64)) != len(content) {
				t.Fatalf("event %d: block %v starts while %d is open, %d done", i, d["index"], open, len(content))
			}
			open = len(content)
			content = append(content, d["content_block"].(map[string]any))
			partial = ""
		case "content_block_delta":
			if int(d["index"].(float64)) != open {
				t.Fatalf("event %d: delta for block %v, open is %d", i, d["index"], open)
			}
			delta := d["delta"].(map[string]any)
			b := content[open]
			switch delta["type"] {
			case "text_delta":
				b["text"] = b["text"].(string) + delta["text"].(string)
			case "thinking_delta":
				b["thinking"] = b["thinking"].(string) + delta["thinking"].(string)
			case "input_json_delta":
				partial += delta["partial_json"].(string)
			default:
				t.Fatalf("event %d: delta type %v", i, delta["type"])
			}
		case "content_block_stop":
			if int(d["index"].(float64)) != open {
				t.Fatalf("event %d: stop for block %v, open is %d", i, d["index"], open)
			}
			if content[open]["type"] == "tool_use" && partial != "" {
				var in any
				if err := json.Unmarshal([]byte(partial), &in); err != nil {
					t.Fatalf("event %d: tool input %q: %v", i, partial, err)
				}
				content[open]["input"] = in
			}
			open = -1
		case "message_delta":
			delta := d["delta"].(map[string]any)
			msg["stop_reason"], msg["stop_sequence"], msg["usage"] = delta["stop_reason"], delta["stop_sequence"], d["usage"]
		case "message_stop":
			if i != len(evs)-1 || open != -1 {
				t.Fatalf("message_stop at %d of %d, open block %d", i, len(evs), open)
			}
		case "error":
			e := d["error"].(map[string]any)
			return nil, &Error{Type: e["type"].(string), Message: e["message"].(string)}
		default:
			t.Fatalf("event %d: unexpected %s", i, ev[0])
		}
	}
	msg["content"] = content
	if content == nil {
		msg["content"] = []any{}
	}
	return msg, nil
}
