package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/golden"
)

func indent(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return append(b.Bytes(), '\n')
}

// TestTranslate_Golden maps every testdata/request/*.json to its Responses
// request (or its refusal) in *.golden.
func TestTranslate_Golden(t *testing.T) {
	files, _ := filepath.Glob("testdata/request/*.json")
	if len(files) == 0 {
		t.Fatal("no request fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := Translate(in)
			var out any
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("error is not an *Error: %v", err)
				}
				if !strings.HasPrefix(name, "err_") {
					t.Fatalf("refused: %v", err)
				}
				out = map[string]any{"error": map[string]string{"param": ce.Param, "code": ce.Code, "message": ce.Message}}
			} else {
				if strings.HasPrefix(name, "err_") {
					t.Fatalf("accepted a request that must be refused")
				}
				checkBackendRules(t, tr.Body)
				out = map[string]any{"stream": tr.Stream, "include_usage": tr.IncludeUsage, "cache_key": tr.CacheKey,
					"model": tr.Model, "body": json.RawMessage(tr.Body)}
			}
			raw, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "request/"+name+".golden", indent(t, raw))
		})
	}
}

// checkBackendRules asserts what the Codex backend requires of every body,
// independently of the golden files.
func checkBackendRules(t *testing.T, body []byte) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc["stream"]) != "true" || string(doc["store"]) != "false" || len(doc["instructions"]) < 3 || len(doc["input"]) < 2 {
		t.Errorf("body breaks the backend's rules: %s", body)
	}
	for _, p := range []string{"max_output_tokens", "max_completion_tokens", "temperature", "top_p", "truncation",
		"user", "safety_identifier", "stream_options", "metadata", "messages", "n"} {
		if _, ok := doc[p]; ok {
			t.Errorf("body carries %q, which the backend refuses or does not know", p)
		}
	}
}

// readSSE splits a transcript into (event name, data) pairs; the name
// defaults to the data's "type", as the proxy does.
func readSSE(t *testing.T, raw []byte) (names []string, datas [][]byte) {
	t.Helper()
	for _, block := range strings.Split(strings.TrimSpace(string(raw)), "\n\n") {
		var name, data string
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			}
		}
		if name == "" {
			var ty struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(data), &ty); err != nil {
				t.Fatalf("bad fixture event %q: %v", data, err)
			}
			name = ty.Type
		}
		names = append(names, name)
		datas = append(datas, []byte(data))
	}
	return names, datas
}

// convert feeds a transcript to a Converter and returns its output and the
// final status.
func convert(t *testing.T, file string, tr *Translated) ([]byte, Status) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	names, datas := readSSE(t, raw)
	c := NewConverter(tr)
	var out []byte
	for i := range names {
		var st Status
		out, st, err = c.Event(out, names[i], datas[i])
		if err != nil {
			t.Fatalf("event %d %s: %v", i, names[i], err)
		}
		if st == Failed {
			return ErrorEvent(out, "failed upstream", "server_error", "upstream_failed"), st
		}
		if st == Done {
			if i != len(names)-1 {
				t.Fatalf("done before the last event (%d of %d)", i, len(names))
			}
			if !tr.Stream {
				if out, err = c.Completion(); err != nil {
					t.Fatal(err)
				}
				out = indent(t, out)
			}
			return out, st
		}
	}
	return out, Continue
}

// TestConverter_Golden converts every testdata/stream/*.sse both ways:
// streaming with include_usage (*.chunks.golden) and non-streaming
// (*.completion.golden).
func TestConverter_Golden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	if len(files) == 0 {
		t.Fatal("no stream fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			chunks, st := convert(t, f, &Translated{Model: "requested-model", Stream: true, IncludeUsage: true})
			checkChunks(t, chunks, st)
			golden.Check(t, "stream/"+name+".chunks.golden", chunks)
			doc, st2 := convert(t, f, &Translated{Model: "requested-model"})
			if st2 != st {
				t.Fatalf("status %v streaming, %v not", st, st2)
			}
			if st == Done {
				golden.Check(t, "stream/"+name+".completion.golden", doc)
			}
		})
	}
}

// checkChunks asserts the stream invariants every SDK relies on: each
// event is a data line of JSON (or [DONE] last), the first chunk carries
// the role, and a finished stream ends with [DONE].
func checkChunks(t *testing.T, out []byte, st Status) {
	t.Helper()
	events := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("event %d is not one data line: %q", i, ev)
		}
		if data == "[DONE]" {
			if i != len(events)-1 || st != Done {
				t.Fatalf("[DONE] at %d of %d, status %v", i, len(events), st)
			}
			continue
		}
		var ch map[string]any
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if i == 0 && st != Failed {
			d := ch["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
			if d["role"] != "assistant" {
				t.Fatalf("first chunk lacks the role: %s", data)
			}
		}
	}
	if st == Done && events[len(events)-1] != "data: [DONE]" {
		t.Fatal("finished stream without [DONE]")
	}
}

func TestModelList_Golden(t *testing.T) {
	in, err := os.ReadFile("testdata/models/backend.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := ModelList(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "models/list.golden", indent(t, out))
	if _, err := ModelList([]byte(`not json`), nil); err == nil {
		t.Fatal("ModelList accepted a broken document")
	}
}
