package openaisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// turn is one simulated model answer.
type turn struct {
	respID, itemID string
	model, text    string
	createdAt      int64
	inputTokens    int
}

func newTurn(model, text string, inputBytes int, now time.Time) turn {
	return turn{
		respID:      "resp_" + randHex(24),
		itemID:      "msg_" + randHex(24),
		model:       model,
		text:        text,
		createdAt:   now.Unix(),
		inputTokens: max(1, inputBytes/4),
	}
}

// sseEvent is one event: its type and its data object (which repeats the
// type, as the Responses API does).
type sseEvent struct {
	typ  string
	data map[string]any
}

// events returns the Responses API event sequence of the turn, in order:
// created, in_progress, output_item.added, content_part.added, one
// output_text.delta per word, output_text.done, content_part.done,
// output_item.done, completed. Each carries sequence_number.
func (t turn) events() []sseEvent {
	part := func(text string) map[string]any {
		return map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
	}
	item := func(status string, content []any) map[string]any {
		return map[string]any{"id": t.itemID, "type": "message", "status": status, "role": "assistant", "content": content}
	}
	done := item("completed", []any{part(t.text)})
	loc := map[string]any{"item_id": t.itemID, "output_index": 0, "content_index": 0}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range loc {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	evs := []sseEvent{
		{"response.created", map[string]any{"response": t.response("in_progress", nil)}},
		{"response.in_progress", map[string]any{"response": t.response("in_progress", nil)}},
		{"response.output_item.added", map[string]any{"output_index": 0, "item": item("in_progress", []any{})}},
		{"response.content_part.added", with(map[string]any{"part": part("")})},
	}
	for _, d := range chunks(t.text) {
		evs = append(evs, sseEvent{"response.output_text.delta", with(map[string]any{"delta": d, "logprobs": []any{}})})
	}
	evs = append(evs,
		sseEvent{"response.output_text.done", with(map[string]any{"text": t.text, "logprobs": []any{}})},
		sseEvent{"response.content_part.done", with(map[string]any{"part": part(t.text)})},
		sseEvent{"response.output_item.done", map[string]any{"output_index": 0, "item": done}},
		sseEvent{"response.completed", map[string]any{"response": t.response("completed", []any{done})}},
	)
	for i := range evs {
		evs[i].data["type"] = evs[i].typ
		evs[i].data["sequence_number"] = i
	}
	return evs
}

// response is the Responses API response object; usage is set once completed.
func (t turn) response(status string, output []any) map[string]any {
	resp := map[string]any{
		"id":                  t.respID,
		"object":              "response",
		"created_at":          t.createdAt,
		"status":              status,
		"model":               t.model,
		"output":              []any{},
		"parallel_tool_calls": false,
		"store":               false,
		"tool_choice":         "auto",
		"tools":               []any{},
		"usage":               nil,
		"error":               nil,
		"incomplete_details":  nil,
	}
	if output != nil {
		out := len(strings.Fields(t.text)) + 1
		resp["output"] = output
		resp["usage"] = map[string]any{
			"input_tokens":          t.inputTokens,
			"input_tokens_details":  map[string]any{"cached_tokens": 0},
			"output_tokens":         out,
			"output_tokens_details": map[string]any{"reasoning_tokens": 0},
			"total_tokens":          t.inputTokens + out,
		}
	}
	return resp
}

// chunks splits text into word-sized deltas that concatenate back to text.
func chunks(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

// stream writes the turn as text/event-stream, flushing event by event. With
// cut > 0 it aborts the connection after cut events. It reports whether
// response.completed was sent.
func (s *Sim) stream(w http.ResponseWriter, r *http.Request, t turn, cut int) bool {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("x-request-id", randHex(16))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i, ev := range t.events() {
		if cut > 0 && i == cut {
			abort()
		}
		data, err := json.Marshal(ev.data)
		if err != nil {
			panic(fmt.Sprintf("openaisim: marshal event: %v", err))
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.typ, data); err != nil {
			return false
		}
		if err := rc.Flush(); err != nil || r.Context().Err() != nil {
			return false
		}
	}
	return true
}

// abort drops the connection without finishing the response: the client sees
// a truncated body (or no response at all if nothing was written).
func abort() { panic(http.ErrAbortHandler) }
