package chat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Status tells the caller where a stream stands after an event.
type Status int

const (
	// Continue: more events are expected.
	Continue Status = iota
	// Done: the answer is complete (response.completed or
	// response.incomplete). A streaming Converter has appended the finish
	// chunk, the usage chunk when asked and "data: [DONE]".
	Done
	// Failed: the upstream reported an error (response.failed or error).
	// The caller reads the error from the event and answers it in its own
	// way (ErrorEvent when streaming, an error response otherwise).
	Failed
)

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishToolCalls     = "tool_calls"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
)

// Converter turns one Responses event stream into Chat Completions output.
// It is not safe for concurrent use; one Converter serves one request.
type Converter struct {
	stream, includeUsage bool

	id, model string
	created   int64
	started   bool // the role chunk was sent / the header is known

	calls  []*call // in chat index order
	byItem map[string]*call
	// deltaItems are the message items whose text or refusal came as
	// deltas; a message item that ends without any is sent whole.
	deltaItems map[string]bool

	// Non-streaming accumulation.
	text, refusal, reasoning strings.Builder
	summaryParts             int

	usage  *Usage
	finish string
}

// call is one function call of the answer.
type call struct {
	index    int
	id, name string
	args     strings.Builder
	streamed bool // argument fragments went out
}

// NewConverter returns a Converter for a translated request.
func NewConverter(t *Translated) *Converter {
	return &Converter{stream: t.Stream, includeUsage: t.IncludeUsage, model: t.Model}
}

// Event consumes one upstream event, given by name and JSON data. When
// streaming, it appends the chat.completion.chunk events it produces to dst
// as SSE ("data: {…}\n\n") and returns the extended slice. An error means
// the event could not be read; the stream cannot continue.
func (c *Converter) Event(dst []byte, name string, data []byte) ([]byte, Status, error) {
	switch name {
	case "response.failed", "error":
		return dst, Failed, nil
	case "response.created", "response.in_progress", "response.output_item.added",
		"response.output_text.delta", "response.refusal.delta",
		"response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
		"response.function_call_arguments.delta", "response.function_call_arguments.done",
		"response.output_item.done", "response.completed", "response.incomplete":
	default:
		return dst, Continue, nil // content_part.*, *.done texts, keep-alives: nothing new
	}
	var ev upEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return dst, Failed, fmt.Errorf("read %s event: %w", name, err)
	}
	var err error
	switch name {
	case "response.created", "response.in_progress":
		dst, err = c.start(dst, ev.Response)
	case "response.output_text.delta":
		c.sawDelta(ev.ItemID)
		dst, err = c.content(dst, ev.Delta)
	case "response.refusal.delta":
		c.sawDelta(ev.ItemID)
		dst, err = c.refuse(dst, ev.Delta)
	case "response.reasoning_summary_part.added":
		if c.summaryParts++; c.summaryParts > 1 {
			c.reasoning.WriteString("\n\n")
			dst, err = c.emit(dst, delta{ReasoningContent: "\n\n"})
		}
	case "response.reasoning_summary_text.delta":
		c.reasoning.WriteString(ev.Delta)
		dst, err = c.emit(dst, delta{ReasoningContent: ev.Delta})
	case "response.output_item.added":
		if ev.Item != nil && ev.Item.Type == "function_call" {
			cl := c.addCall(ev.Item)
			dst, err = c.emit(dst, delta{ToolCalls: []toolCallDelta{{Index: cl.index, ID: cl.id, Type: "function", Function: functionDelta{Name: cl.name}}}})
		}
	case "response.function_call_arguments.delta":
		if cl := c.byItem[ev.ItemID]; cl != nil {
			cl.args.WriteString(ev.Delta)
			cl.streamed = true
			dst, err = c.emit(dst, delta{ToolCalls: []toolCallDelta{{Index: cl.index, Function: functionDelta{Arguments: ev.Delta}}}})
		}
	case "response.function_call_arguments.done":
		dst, err = c.finishCall(dst, c.byItem[ev.ItemID], ev.Arguments)
	case "response.output_item.done":
		if ev.Item != nil && ev.Item.Type == "message" && !c.deltaItems[ev.Item.ID] {
			dst, err = c.wholeMessage(dst, ev.Item)
		}
		if ev.Item != nil && ev.Item.Type == "function_call" {
			cl := c.byItem[ev.Item.ID]
			if cl == nil { // a call whose .added never came
				cl = c.addCall(ev.Item)
				dst, err = c.emit(dst, delta{ToolCalls: []toolCallDelta{{Index: cl.index, ID: cl.id, Type: "function", Function: functionDelta{Name: cl.name}}}})
			}
			if err == nil {
				dst, err = c.finishCall(dst, cl, ev.Item.Arguments)
			}
		}
	case "response.completed", "response.incomplete":
		return c.end(dst, name, ev.Response)
	}
	return dst, Continue, err
}

func (c *Converter) sawDelta(itemID string) {
	if c.deltaItems == nil {
		c.deltaItems = map[string]bool{}
	}
	c.deltaItems[itemID] = true
}

func (c *Converter) content(dst []byte, text string) ([]byte, error) {
	c.text.WriteString(text)
	return c.emit(dst, delta{Content: &text})
}

func (c *Converter) refuse(dst []byte, text string) ([]byte, error) {
	c.refusal.WriteString(text)
	return c.emit(dst, delta{Refusal: text})
}

// wholeMessage sends the text of a message item that came without deltas.
func (c *Converter) wholeMessage(dst []byte, it *upItem) ([]byte, error) {
	var err error
	for _, p := range it.Content {
		switch {
		case err != nil:
		case p.Type == "output_text" && p.Text != "":
			dst, err = c.content(dst, p.Text)
		case p.Type == "refusal" && p.Refusal != "":
			dst, err = c.refuse(dst, p.Refusal)
		}
	}
	return dst, err
}

// start records the response's id, time and model from its first event.
func (c *Converter) start(dst []byte, r *upResponse) ([]byte, error) {
	if c.started || r == nil {
		return dst, nil
	}
	c.started = true
	c.id = "chatcmpl-" + strings.TrimPrefix(r.ID, "resp_")
	c.created = int64(r.CreatedAt)
	if r.Model != "" {
		c.model = r.Model
	}
	empty := ""
	return c.emit(dst, delta{Role: "assistant", Content: &empty})
}

func (c *Converter) addCall(it *upItem) *call {
	if c.byItem == nil {
		c.byItem = map[string]*call{}
	}
	cl := &call{index: len(c.calls), id: it.CallID, name: it.Name}
	c.calls = append(c.calls, cl)
	c.byItem[it.ID] = cl
	return cl
}

// finishCall sends the complete arguments of a call whose fragments never
// came, and keeps the final arguments for a non-streaming answer.
func (c *Converter) finishCall(dst []byte, cl *call, args string) ([]byte, error) {
	if cl == nil || args == "" {
		return dst, nil
	}
	if cl.streamed {
		if cl.args.String() != args {
			cl.args.Reset()
			cl.args.WriteString(args)
		}
		return dst, nil
	}
	cl.args.WriteString(args)
	cl.streamed = true
	return c.emit(dst, delta{ToolCalls: []toolCallDelta{{Index: cl.index, Function: functionDelta{Arguments: args}}}})
}

// end handles response.completed / response.incomplete.
func (c *Converter) end(dst []byte, name string, r *upResponse) ([]byte, Status, error) {
	if r == nil {
		return dst, Failed, fmt.Errorf("%s without a response object", name)
	}
	dst, err := c.start(dst, r)
	if err != nil {
		return dst, Failed, err
	}
	if dst, err = c.adoptOutput(dst, r.Output); err != nil {
		return dst, Failed, err
	}
	c.usage = chatUsage(r.Usage)
	c.finish = FinishStop
	switch {
	case name == "response.incomplete":
		c.finish = FinishLength
		if r.IncompleteDetails != nil && r.IncompleteDetails.Reason == "content_filter" {
			c.finish = FinishContentFilter
		}
	case len(c.calls) > 0:
		c.finish = FinishToolCalls
	}
	if !c.stream {
		return dst, Done, nil
	}
	dst, err = c.appendChunk(dst, []chunkChoice{{Delta: delta{}, FinishReason: &c.finish}}, nil)
	if err == nil && c.includeUsage {
		u := c.usage
		if u == nil {
			u = &Usage{}
		}
		dst, err = c.appendChunk(dst, []chunkChoice{}, u)
	}
	if err != nil {
		return dst, Failed, err
	}
	return append(dst, "data: [DONE]\n\n"...), Done, nil
}

// adoptOutput sends the final output items when the stream carried none
// of them (neither deltas nor output_item.done events).
func (c *Converter) adoptOutput(dst []byte, out []upItem) ([]byte, error) {
	if c.text.Len() > 0 || c.refusal.Len() > 0 || len(c.calls) > 0 {
		return dst, nil
	}
	var err error
	for i := range out {
		it := &out[i]
		switch {
		case err != nil:
		case it.Type == "message":
			dst, err = c.wholeMessage(dst, it)
		case it.Type == "function_call":
			cl := c.addCall(it)
			if dst, err = c.emit(dst, delta{ToolCalls: []toolCallDelta{{Index: cl.index, ID: cl.id, Type: "function", Function: functionDelta{Name: cl.name}}}}); err == nil {
				dst, err = c.finishCall(dst, cl, it.Arguments)
			}
		case it.Type == "reasoning" && c.reasoning.Len() == 0:
			for j, sm := range it.Summary {
				text := sm.Text
				if j > 0 {
					text = "\n\n" + text
				}
				c.reasoning.WriteString(text)
				if dst, err = c.emit(dst, delta{ReasoningContent: text}); err != nil {
					break
				}
			}
		}
	}
	return dst, err
}

// emit appends one delta chunk when streaming.
func (c *Converter) emit(dst []byte, d delta) ([]byte, error) {
	if !c.stream {
		return dst, nil
	}
	return c.appendChunk(dst, []chunkChoice{{Delta: d}}, nil)
}

// appendChunk appends "data: <chunk>\n\n"; the usage chunk has no choices.
func (c *Converter) appendChunk(dst []byte, choices []chunkChoice, u *Usage) ([]byte, error) {
	ch := chunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: c.model, Choices: choices, Usage: u}
	b, err := json.Marshal(ch)
	if err != nil {
		return dst, fmt.Errorf("encode chunk: %w", err)
	}
	dst = append(dst, "data: "...)
	dst = append(dst, b...)
	return append(dst, "\n\n"...), nil
}

// Completion returns the chat.completion object of a non-streaming request
// once Event returned Done.
func (c *Converter) Completion() ([]byte, error) {
	if c.finish == "" {
		return nil, fmt.Errorf("completion requested before the response completed")
	}
	msg := outMessage{Role: "assistant", ReasoningContent: c.reasoning.String()}
	if c.text.Len() > 0 || (len(c.calls) == 0 && c.refusal.Len() == 0) { // null beside calls or a refusal, as OpenAI
		s := c.text.String()
		msg.Content = &s
	}
	if c.refusal.Len() > 0 {
		s := c.refusal.String()
		msg.Refusal = &s
	}
	for _, cl := range c.calls {
		msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: cl.id, Type: "function", Function: functionCall{Name: cl.name, Arguments: cl.args.String()}})
	}
	out := completion{ID: c.id, Object: "chat.completion", Created: c.created, Model: c.model,
		Choices: []completionChoice{{Message: msg, FinishReason: c.finish}}}
	if c.usage != nil {
		out.Usage = *c.usage
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode completion: %w", err)
	}
	return b, nil
}

// ErrorEvent appends the SSE event that reports an error inside a chat
// stream: "data: {"error":{…}}". The OpenAI SDKs raise it as an API error.
func ErrorEvent(dst []byte, message, typ, code string) []byte {
	b, _ := json.Marshal(errorDoc{Error: errorObject{Message: message, Type: typ, Code: code}}) // strings only: cannot fail
	dst = append(dst, "data: "...)
	dst = append(dst, b...)
	return append(dst, "\n\n"...)
}
