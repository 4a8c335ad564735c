package messages

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/codexgate/codexgate/shared/jsonscan"
	"github.com/codexgate/codexgate/shared/sse"
)

// Converter translates one Responses event stream into the Anthropic answer:
// SSE events for a streaming client, or the final message object. Feed it
// the upstream events in order with Event; it is not safe for concurrent
// use.
//
// Anthropic content blocks are strictly sequential (start, deltas, stop),
// as are the backend's output items, so one block is open at a time: a
// reasoning summary becomes a thinking block (only when the client enabled
// thinking), an output_text a text block, a function_call a tool_use block.
type Converter struct {
	t       *Translation
	stream  bool
	started bool
	done    bool
	msgID   string

	next     int    // index of the next content block
	open     string // kind of the open block: "", "text", "thinking", "tool_use"
	openKey  int    // output_index of the item the open block belongs to
	summary  int    // summary_index of the open thinking block
	sent     bool   // the open block has had a delta
	usedTool bool

	stop  stopper
	usage Usage
	err   *Error

	msg *messageObject // non-streaming: the message being built
	buf []byte         // scratch for marshalling
}

// Usage is Anthropic's token usage. InputTokens excludes cache reads, as
// Anthropic counts them.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// NewConverter starts the translation of the answer to t.
func NewConverter(t *Translation) *Converter {
	c := &Converter{t: t, stream: t.Stream, stop: stopper{seqs: t.StopSequences}}
	if !c.stream {
		c.msg = &messageObject{Type: "message", Role: "assistant", Model: t.Model, Content: []contentBlock{}}
	}
	return c
}

// Done reports whether the answer is complete (message_stop or an error was
// produced); later events are ignored.
func (c *Converter) Done() bool { return c.done }

// Err is the failure the stream ended with, if any.
func (c *Converter) Err() *Error { return c.err }

// Event translates one upstream event (its SSE name, or "" to take the
// data's type, and its JSON data) and appends what a streaming client gets
// to out.
func (c *Converter) Event(out []byte, name string, data []byte) []byte {
	if c.done || ignored[name] {
		return out
	}
	name, ev, ok := decodeEvent(name, data)
	if !ok {
		return out // not a JSON object (a comment, a keep-alive): nothing to say
	}
	switch name {
	case "response.created":
		out = c.start(out, ev.Response)
	case "response.output_item.added":
		out = c.start(out, nil)
		if ev.Item != nil && ev.Item.Type == "function_call" {
			out = c.closeBlock(out)
			out = c.openToolUse(out, ev.OutputIndex, ev.Item)
		}
	case "response.output_text.delta", "response.refusal.delta":
		out = c.text(out, ev.OutputIndex, ev.Delta)
	case "response.output_text.done":
		if !(c.open == "text" && c.openKey == ev.OutputIndex && c.sent) {
			out = c.text(out, ev.OutputIndex, ev.Text)
		}
	case "response.reasoning_summary_text.delta":
		out = c.thinking(out, ev.OutputIndex, ev.SummaryIndex, ev.Delta)
	case "response.function_call_arguments.delta":
		if c.open == "tool_use" && c.openKey == ev.OutputIndex {
			out = c.delta(out, "input_json_delta", ev.Delta)
		}
	case "response.output_item.done":
		out = c.itemDone(out, ev.OutputIndex, ev.Item)
	case "response.completed", "response.incomplete":
		out = c.complete(out, ev.Response)
	case "response.failed":
		f := &failure{}
		if ev.Response != nil && ev.Response.Error != nil {
			f = ev.Response.Error
		}
		out = c.fail(out, f.kind(), f.Message)
	case "error":
		f := ev.Error
		if f == nil {
			f = &failure{Code: ev.Code, Message: ev.Message}
		}
		out = c.fail(out, f.kind(), f.Message)
	}
	return out
}

// start emits message_start once.
func (c *Converter) start(out []byte, r *response) []byte {
	if c.started {
		return out
	}
	c.started = true
	c.msgID = "msg_codexgate"
	if r != nil && r.ID != "" {
		c.msgID = "msg_" + strings.TrimPrefix(r.ID, "resp_")
	}
	if !c.stream {
		c.msg.ID = c.msgID
		return out
	}
	return c.emit(out, "message_start", messageStart{Type: "message_start", Message: messageObject{
		ID: c.msgID, Type: "message", Role: "assistant", Model: c.t.Model, Content: []contentBlock{},
	}})
}

func (c *Converter) text(out []byte, key int, text string) []byte {
	if text == "" {
		return out
	}
	out = c.start(out, nil)
	if c.open != "text" || c.openKey != key {
		out = c.closeBlock(out)
		out = c.openBlock(out, key, contentBlock{Type: "text", Text: new(string)})
	}
	emit, seq, hit := c.stop.feed(text)
	out = c.delta(out, "text_delta", emit)
	if hit {
		out = c.closeBlock(out)
		out = c.finish(out, "stop_sequence", &seq)
	}
	return out
}

func (c *Converter) thinking(out []byte, key, summary int, text string) []byte {
	if !c.t.Thinking || text == "" {
		return out
	}
	out = c.start(out, nil)
	if c.open != "thinking" || c.openKey != key {
		out = c.closeBlock(out)
		out = c.openBlock(out, key, contentBlock{Type: "thinking", Thinking: new(string), Signature: new(string)})
		c.summary = summary
	} else if summary != c.summary {
		// A new summary part of the same reasoning item: one block, the
		// parts separated by a blank line.
		c.summary = summary
		text = "\n\n" + text
	}
	return c.delta(out, "thinking_delta", text)
}

func (c *Converter) openToolUse(out []byte, key int, it *item) []byte {
	c.usedTool = true
	input := json.RawMessage("{}")
	return c.openBlock(out, key, contentBlock{Type: "tool_use", ID: it.CallID, Name: c.t.ClientToolName(it.Name), Input: &input})
}

func (c *Converter) itemDone(out []byte, key int, it *item) []byte {
	if it == nil {
		return out
	}
	switch it.Type {
	case "message":
		if !(c.open == "text" && c.openKey == key && c.sent) {
			// No deltas arrived for this message: its text comes whole.
			out = c.text(out, key, it.text())
		}
	case "function_call":
		if c.open != "tool_use" || c.openKey != key {
			out = c.closeBlock(out)
			out = c.openToolUse(out, key, it)
		}
		if !c.sent && it.Arguments != "" {
			out = c.delta(out, "input_json_delta", it.Arguments)
		}
	}
	if c.openKey == key {
		out = c.closeBlock(out)
	}
	return out
}

// complete ends the message with its stop reason and usage.
func (c *Converter) complete(out []byte, r *response) []byte {
	out = c.start(out, r)
	out = c.closeBlock(out)
	reason := "end_turn"
	if r != nil {
		if u := r.Usage; u != nil {
			cached := int(min(u.CachedTokens, u.InputTokens))
			c.usage = Usage{InputTokens: int(u.InputTokens) - cached, CacheReadInputTokens: cached, OutputTokens: int(u.OutputTokens)}
		}
		if d := r.IncompleteDetails; d != nil {
			switch d.Reason {
			case "max_output_tokens":
				reason = "max_tokens"
			case "content_filter":
				reason = "refusal"
			}
		}
	}
	if reason == "end_turn" && c.usedTool {
		reason = "tool_use"
	}
	return c.finish(out, reason, nil)
}

func (c *Converter) finish(out []byte, reason string, seq *string) []byte {
	c.done = true
	if !c.stream {
		c.msg.StopReason, c.msg.StopSequence, c.msg.Usage = &reason, seq, c.usage
		return out
	}
	out = c.emit(out, "message_delta", messageDelta{Type: "message_delta", Delta: stopDelta{StopReason: reason, StopSequence: seq}, Usage: c.usage})
	return append(out, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// Fail ends the answer with the error a failure of the proxy's own (code
// and message, in OpenAI's terms) reports, as the upstream's own error
// event would: after a stream broke mid-answer. It does nothing once the
// answer is done.
func (c *Converter) Fail(out []byte, code, message string) []byte {
	if c.done {
		return out
	}
	return c.fail(out, code, message)
}

// fail ends the answer with an error: an error event for a streaming
// client (Anthropic's own mid-stream error), Err for a non-streaming one.
func (c *Converter) fail(out []byte, code, message string) []byte {
	c.err = fromStreamFailure(code, message)
	c.done = true
	if !c.stream {
		return out
	}
	out = c.closeBlock(out)
	return c.emit(out, "error", errorDoc{Type: "error", Error: errorObject{Type: c.err.Type, Message: c.err.Message}})
}

func (c *Converter) openBlock(out []byte, key int, b contentBlock) []byte {
	c.open, c.openKey, c.sent = b.Type, key, false
	if !c.stream {
		c.msg.Content = append(c.msg.Content, b)
		return out
	}
	return c.emit(out, "content_block_start", blockStart{Type: "content_block_start", Index: c.next, ContentBlock: b})
}

// delta emits one delta into the open block.
func (c *Converter) delta(out []byte, kind, s string) []byte {
	if s == "" || c.open == "" {
		return out
	}
	c.sent = true
	if !c.stream {
		b := &c.msg.Content[len(c.msg.Content)-1]
		switch kind {
		case "text_delta":
			*b.Text += s
		case "thinking_delta":
			*b.Thinking += s
		case "input_json_delta":
			b.partial += s
		}
		return out
	}
	// Written by hand: the hottest event, and its shape is fixed.
	out = append(out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	out = strconv.AppendInt(out, int64(c.next), 10)
	out = append(out, `,"delta":{"type":"`...)
	out = append(out, kind...)
	out = append(out, `","`...)
	out = append(out, deltaFields[kind]...)
	out = append(out, `":`...)
	out = jsonscan.AppendString(out, s, false)
	return append(out, "}}\n\n"...)
}

func (c *Converter) closeBlock(out []byte) []byte {
	if c.open == "" {
		return out
	}
	if c.open == "text" {
		if held := c.stop.flush(); held != "" {
			out = c.delta(out, "text_delta", held)
		}
	}
	if !c.stream {
		b := &c.msg.Content[len(c.msg.Content)-1]
		if b.Type == "tool_use" && strings.TrimSpace(b.partial) != "" {
			in := json.RawMessage(b.partial)
			if !json.Valid(in) {
				in = json.RawMessage("{}")
			}
			b.Input = &in
		}
	} else {
		out = append(out, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
		out = strconv.AppendInt(out, int64(c.next), 10)
		out = append(out, "}\n\n"...)
	}
	c.open = ""
	c.next++
	return out
}

// emit appends one SSE event. The payloads are plain structs of strings
// and numbers: marshalling cannot fail.
func (c *Converter) emit(out []byte, name string, v any) []byte {
	return sse.Append(out, name, marshal(v))
}
