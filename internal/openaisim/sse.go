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
	cachedTokens   int
	reasoning      bool      // stream a reasoning item before the answer
	encrypted      bool      // the reasoning item carries encrypted_content
	call           *funcCall // answer with this function call instead of text
	failCode       string    // end with response.failed carrying this code
	incomplete     bool      // stop early with response.incomplete
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

// Usage is the token usage a completed (or incomplete) turn reports.
type Usage struct {
	InputTokens     int `json:"input_tokens"`
	CachedTokens    int `json:"cached_tokens"`
	OutputTokens    int `json:"output_tokens"` // reasoning tokens included
	ReasoningTokens int `json:"reasoning_tokens"`
}

// usage is deterministic: one token per word of the streamed text (plus
// one), a quarter token per byte of call arguments, three per reasoning word.
func (t turn) usage() Usage {
	u := Usage{InputTokens: t.inputTokens, CachedTokens: t.cachedTokens}
	if t.reasoning {
		u.ReasoningTokens = 3 * len(strings.Fields(ReasoningSummary))
	}
	if t.call != nil {
		u.OutputTokens = len(t.call.args)/4 + 1
	} else {
		u.OutputTokens = len(strings.Fields(t.streamedText())) + 1
	}
	u.OutputTokens += u.ReasoningTokens
	return u
}

// streamedText is the message text actually sent: the first half of the
// words when the turn is truncated.
func (t turn) streamedText() string {
	if !t.incomplete {
		return t.text
	}
	cs := chunks(t.text)
	return strings.Join(cs[:max(1, len(cs)/2)], "")
}

// sseEvent is one event: its type and its data object (which repeats the
// type, as the Responses API does).
type sseEvent struct {
	typ  string
	data map[string]any
}

// events returns the Responses API event sequence of the turn, in order:
// created, in_progress, [a reasoning item], then either a function_call item
// or a message item (output_item.added, content_part.added, one
// output_text.delta per word, output_text.done, content_part.done,
// output_item.done), then completed (or incomplete). A failing turn is
// created, in_progress, failed. Each carries sequence_number.
func (t turn) events() []sseEvent {
	evs := []sseEvent{
		{"response.created", map[string]any{"response": t.response("in_progress", nil)}},
		{"response.in_progress", map[string]any{"response": t.response("in_progress", nil)}},
	}
	if t.failCode != "" {
		failed := t.response("failed", nil)
		failed["error"] = map[string]any{"code": t.failCode, "message": "The model failed to answer (simulated " + t.failCode + ")."}
		evs = append(evs, sseEvent{"response.failed", map[string]any{"response": failed}})
		return numbered(evs)
	}
	var output []any
	if t.reasoning {
		evs, output = t.reasoningEvents(evs, output)
	}
	if t.call != nil {
		evs, output = t.callEvents(evs, output)
	} else {
		evs, output = t.messageEvents(evs, output)
	}
	if t.incomplete {
		resp := t.response("incomplete", output)
		resp["incomplete_details"] = map[string]any{"reason": "max_output_tokens"}
		evs = append(evs, sseEvent{"response.incomplete", map[string]any{"response": resp}})
	} else {
		evs = append(evs, sseEvent{"response.completed", map[string]any{"response": t.response("completed", output)}})
	}
	return numbered(evs)
}

func numbered(evs []sseEvent) []sseEvent {
	for i := range evs {
		evs[i].data["type"] = evs[i].typ
		evs[i].data["sequence_number"] = i
	}
	return evs
}

// merged returns a new map holding base and then extra.
func merged(base, extra map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// messageEvents appends the assistant message item at the next output index.
func (t turn) messageEvents(evs []sseEvent, output []any) ([]sseEvent, []any) {
	idx := len(output)
	text := t.streamedText()
	part := func(text string) map[string]any {
		return map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
	}
	item := func(status string, content []any) map[string]any {
		return map[string]any{"id": t.itemID, "type": "message", "status": status, "role": "assistant", "content": content}
	}
	status := "completed"
	if t.incomplete {
		status = "incomplete"
	}
	done := item(status, []any{part(text)})
	loc := map[string]any{"item_id": t.itemID, "output_index": idx, "content_index": 0}
	evs = append(evs,
		sseEvent{"response.output_item.added", map[string]any{"output_index": idx, "item": item("in_progress", []any{})}},
		sseEvent{"response.content_part.added", merged(loc, map[string]any{"part": part("")})},
	)
	for _, d := range chunks(text) {
		evs = append(evs, sseEvent{"response.output_text.delta", merged(loc, map[string]any{"delta": d, "logprobs": []any{}})})
	}
	evs = append(evs,
		sseEvent{"response.output_text.done", merged(loc, map[string]any{"text": text, "logprobs": []any{}})},
		sseEvent{"response.content_part.done", merged(loc, map[string]any{"part": part(text)})},
		sseEvent{"response.output_item.done", map[string]any{"output_index": idx, "item": done}},
	)
	return evs, append(output, done)
}

// reasoningEvents appends a reasoning item with one summary part.
func (t turn) reasoningEvents(evs []sseEvent, output []any) ([]sseEvent, []any) {
	idx := len(output)
	id := "rs_" + randHex(24)
	summary := func(text string) map[string]any { return map[string]any{"type": "summary_text", "text": text} }
	item := func(parts []any) map[string]any {
		it := map[string]any{"id": id, "type": "reasoning", "summary": parts}
		if t.encrypted {
			it["encrypted_content"] = "gAAAA" + randHex(32)
		}
		return it
	}
	done := item([]any{summary(ReasoningSummary)})
	loc := map[string]any{"item_id": id, "output_index": idx, "summary_index": 0}
	evs = append(evs,
		sseEvent{"response.output_item.added", map[string]any{"output_index": idx, "item": item([]any{})}},
		sseEvent{"response.reasoning_summary_part.added", merged(loc, map[string]any{"part": summary("")})},
	)
	for _, d := range chunks(ReasoningSummary) {
		evs = append(evs, sseEvent{"response.reasoning_summary_text.delta", merged(loc, map[string]any{"delta": d})})
	}
	evs = append(evs,
		sseEvent{"response.reasoning_summary_text.done", merged(loc, map[string]any{"text": ReasoningSummary})},
		sseEvent{"response.reasoning_summary_part.done", merged(loc, map[string]any{"part": summary(ReasoningSummary)})},
		sseEvent{"response.output_item.done", map[string]any{"output_index": idx, "item": done}},
	)
	return evs, append(output, done)
}

// callEvents appends a function_call item whose arguments stream in
// fragments of at most 8 bytes.
func (t turn) callEvents(evs []sseEvent, output []any) ([]sseEvent, []any) {
	idx := len(output)
	c := t.call
	item := func(status, args string) map[string]any {
		return map[string]any{"id": c.itemID, "type": "function_call", "status": status, "call_id": c.callID, "name": c.name, "arguments": args}
	}
	done := item("completed", c.args)
	evs = append(evs, sseEvent{"response.output_item.added", map[string]any{"output_index": idx, "item": item("in_progress", "")}})
	for rest := c.args; rest != ""; {
		n := min(8, len(rest))
		evs = append(evs, sseEvent{"response.function_call_arguments.delta", map[string]any{"item_id": c.itemID, "output_index": idx, "delta": rest[:n]}})
		rest = rest[n:]
	}
	evs = append(evs,
		sseEvent{"response.function_call_arguments.done", map[string]any{"item_id": c.itemID, "output_index": idx, "arguments": c.args}},
		sseEvent{"response.output_item.done", map[string]any{"output_index": idx, "item": done}},
	)
	return evs, append(output, done)
}

// response is the Responses API response object; usage is set once the
// turn has output (completed or incomplete).
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
		u := t.usage()
		resp["output"] = output
		resp["usage"] = map[string]any{
			"input_tokens":          u.InputTokens,
			"input_tokens_details":  map[string]any{"cached_tokens": u.CachedTokens},
			"output_tokens":         u.OutputTokens,
			"output_tokens_details": map[string]any{"reasoning_tokens": u.ReasoningTokens},
			"total_tokens":          u.InputTokens + u.OutputTokens,
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
// cut > 0 it aborts the connection after cut events. beforeLast runs just
// before the terminal event is written, so a client that has seen it can
// rely on the counters already including the turn.
func (s *Sim) stream(w http.ResponseWriter, r *http.Request, t turn, cut int, beforeLast func()) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("x-request-id", randHex(16))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	evs := t.events()
	for i, ev := range evs {
		if cut > 0 && i == cut {
			abort()
		}
		if i == len(evs)-1 {
			beforeLast()
		}
		data, err := json.Marshal(ev.data)
		if err != nil {
			panic(fmt.Sprintf("openaisim: marshal event: %v", err))
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.typ, data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil || r.Context().Err() != nil {
			return
		}
	}
}

// abort drops the connection without finishing the response: the client sees
// a truncated body (or no response at all if nothing was written).
func abort() { panic(http.ErrAbortHandler) }
