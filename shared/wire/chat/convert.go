package chat

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/codexgate/codexgate/shared/jsonscan"
	"github.com/codexgate/codexgate/shared/wire/responses"
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
	started   bool   // the role chunk was sent / the header is known
	head      []byte // the chunk template's start (chunks.go)

	calls  []*call // in chat index order
	byItem map[string]*call
	// deltaItems are the message items whose text or refusal came as
	// deltas; a message item that ends without any is sent whole.
	deltaItems    map[string]bool
	lastDeltaItem string

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
	case "response.output_text.delta", "response.refusal.delta",
		"response.reasoning_summary_text.delta", "response.function_call_arguments.delta":
		return c.deltaEvent(dst, name, data)
	case "response.created", "response.in_progress":
		if c.started {
			return dst, Continue, nil // in_progress repeats created
		}
		r, err := readResponse(data)
		if err != nil {
			return dst, Failed, fmt.Errorf("read %s event: %w", name, err)
		}
		return c.start(dst, r), Continue, nil
	case "response.completed", "response.incomplete":
		r, err := readResponse(data)
		if err != nil {
			return dst, Failed, fmt.Errorf("read %s event: %w", name, err)
		}
		return c.end(dst, name, data, r)
	case "response.reasoning_summary_part.added":
		if c.summaryParts++; c.summaryParts > 1 {
			dst = c.reason(dst, "\n\n")
		}
		return dst, Continue, nil
	case "response.output_item.added", "response.output_item.done", "response.function_call_arguments.done":
		return c.itemEvent(dst, name, data)
	}
	return dst, Continue, nil // content_part.*, *.done texts, keep-alives: nothing new
}

// deltaEvent handles the per-token events from their two top-level fields.
func (c *Converter) deltaEvent(dst []byte, name string, data []byte) ([]byte, Status, error) {
	f, ok := jsonscan.Fields(data, "delta", "item_id")
	if !ok {
		return dst, Failed, fmt.Errorf("read %s event: not a JSON object", name)
	}
	d, err := jsonscan.String(f[0])
	if err != nil {
		return dst, Failed, fmt.Errorf("read %s delta: %w", name, err)
	}
	itemID, err := jsonscan.String(f[1])
	if err != nil {
		return dst, Failed, fmt.Errorf("read %s item_id: %w", name, err)
	}
	switch name {
	case "response.output_text.delta":
		c.sawDelta(itemID)
		dst = c.content(dst, d)
	case "response.refusal.delta":
		c.sawDelta(itemID)
		dst = c.refuse(dst, d)
	case "response.reasoning_summary_text.delta":
		dst = c.reason(dst, d)
	case "response.function_call_arguments.delta":
		if cl := c.byItem[itemID]; cl != nil {
			cl.args.WriteString(d)
			cl.streamed = true
			dst = c.argsChunk(dst, cl, d)
		}
	}
	return dst, Continue, nil
}

// itemEvent handles the start and end of output items: function calls
// begin and end, a message that came without deltas is sent whole.
func (c *Converter) itemEvent(dst []byte, name string, data []byte) ([]byte, Status, error) {
	ev, err := readItemEvent(data)
	if err != nil {
		return dst, Failed, fmt.Errorf("read %s event: %w", name, err)
	}
	switch {
	case name == "response.function_call_arguments.done":
		dst = c.finishCall(dst, c.byItem[ev.ItemID], ev.Arguments)
	case ev.Item == nil:
	case name == "response.output_item.added" && ev.Item.Type == "function_call":
		dst = c.callChunk(dst, c.addCall(ev.Item))
	case name == "response.output_item.done" && ev.Item.Type == "function_call":
		cl := c.byItem[ev.Item.ID]
		if cl == nil { // a call whose .added never came
			cl = c.addCall(ev.Item)
			dst = c.callChunk(dst, cl)
		}
		dst = c.finishCall(dst, cl, ev.Item.Arguments)
	case name == "response.output_item.done" && ev.Item.Type == "message" && !c.deltaItems[ev.Item.ID]:
		var full struct {
			Item upItemFull `json:"item"`
		}
		if err := json.Unmarshal(data, &full); err != nil {
			return dst, Failed, fmt.Errorf("read %s item: %w", name, err)
		}
		dst = c.wholeMessage(dst, &full.Item)
	}
	return dst, Continue, nil
}

// readItemEvent reads the per-item events (output_item.added / .done,
// function_call_arguments.done) without decoding the item's content.
func readItemEvent(data []byte) (upEvent, error) {
	var ev upEvent
	f, ok := jsonscan.Fields(data, "item_id", "arguments", "item")
	if !ok {
		return ev, fmt.Errorf("not a JSON object")
	}
	var err error
	if ev.ItemID, err = jsonscan.String(f[0]); err != nil {
		return ev, err
	}
	if ev.Arguments, err = jsonscan.String(f[1]); err != nil {
		return ev, err
	}
	if !isSet(f[2]) {
		return ev, nil
	}
	v, ok := jsonscan.Fields(f[2], "id", "type", "call_id", "name", "arguments")
	if !ok {
		return ev, fmt.Errorf("item is not an object")
	}
	ev.Item = &upItem{}
	for i, dst := range []*string{&ev.Item.ID, &ev.Item.Type, &ev.Item.CallID, &ev.Item.Name, &ev.Item.Arguments} {
		if *dst, err = jsonscan.String(v[i]); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// readResponse reads the response object of created / completed events:
// the few fields the converter uses, located by jsonscan and decoded alone,
// so the output (which repeats the whole answer) is only skipped over.
func readResponse(data []byte) (*upResponse, error) {
	f, ok := jsonscan.Fields(data, "response")
	if !ok || f[0] == nil {
		return nil, fmt.Errorf("no response object")
	}
	v, ok := jsonscan.Fields(f[0], "id", "created_at", "model", "usage", "incomplete_details")
	if !ok {
		return nil, fmt.Errorf("response is not an object")
	}
	var r upResponse
	var err error
	if r.ID, err = jsonscan.String(v[0]); err != nil {
		return nil, fmt.Errorf("response id: %w", err)
	}
	if v[1] != nil {
		if r.CreatedAt, err = strconv.ParseFloat(string(v[1]), 64); err != nil {
			return nil, fmt.Errorf("response created_at: %w", err)
		}
	}
	if r.Model, err = jsonscan.String(v[2]); err != nil {
		return nil, fmt.Errorf("response model: %w", err)
	}
	if isSet(v[3]) {
		u, ok := responses.DecodeUsage(v[3])
		if !ok {
			return nil, fmt.Errorf("response usage: not a usage object: %.80s", v[3])
		}
		r.Usage = &u
	}
	if isSet(v[4]) {
		if err := json.Unmarshal(v[4], &r.IncompleteDetails); err != nil {
			return nil, fmt.Errorf("response incomplete_details: %w", err)
		}
	}
	return &r, nil
}

// sawDelta records that a message item streams deltas. Deltas of one item
// come in a row, so only a change of item touches the map.
func (c *Converter) sawDelta(itemID string) {
	if itemID == c.lastDeltaItem && c.deltaItems != nil {
		return
	}
	if c.deltaItems == nil {
		c.deltaItems = map[string]bool{}
	}
	c.deltaItems[itemID] = true
	c.lastDeltaItem = itemID
}

func (c *Converter) content(dst []byte, text string) []byte {
	c.text.WriteString(text)
	return c.deltaChunk(dst, `{"content":`, text, `}`)
}

func (c *Converter) refuse(dst []byte, text string) []byte {
	c.refusal.WriteString(text)
	return c.deltaChunk(dst, `{"refusal":`, text, `}`)
}

func (c *Converter) reason(dst []byte, text string) []byte {
	c.reasoning.WriteString(text)
	return c.deltaChunk(dst, `{"reasoning_content":`, text, `}`)
}

// wholeMessage sends the text of a message item that came without deltas.
func (c *Converter) wholeMessage(dst []byte, it *upItemFull) []byte {
	for _, p := range it.Content {
		switch {
		case p.Type == "output_text" && p.Text != "":
			dst = c.content(dst, p.Text)
		case p.Type == "refusal" && p.Refusal != "":
			dst = c.refuse(dst, p.Refusal)
		}
	}
	return dst
}

// start records the response's id, time and model from its first event
// and sends the role chunk.
func (c *Converter) start(dst []byte, r *upResponse) []byte {
	if c.started {
		return dst
	}
	c.started = true
	c.head = nil
	c.id = "chatcmpl-" + strings.TrimPrefix(r.ID, "resp_")
	c.created = int64(r.CreatedAt)
	if r.Model != "" {
		c.model = r.Model
	}
	return c.deltaChunk(dst, `{"role":"assistant","content":`, "", `}`)
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
func (c *Converter) finishCall(dst []byte, cl *call, args string) []byte {
	if cl == nil || args == "" {
		return dst
	}
	if cl.streamed {
		if cl.args.String() != args {
			cl.args.Reset()
			cl.args.WriteString(args)
		}
		return dst
	}
	cl.args.WriteString(args)
	cl.streamed = true
	return c.argsChunk(dst, cl, args)
}

// end handles response.completed / response.incomplete.
func (c *Converter) end(dst []byte, name string, data []byte, r *upResponse) ([]byte, Status, error) {
	dst = c.start(dst, r)
	if c.text.Len() == 0 && c.refusal.Len() == 0 && len(c.calls) == 0 {
		// Nothing streamed: the answer is only in the final output.
		var out upOutput
		if err := json.Unmarshal(data, &out); err != nil {
			return dst, Failed, fmt.Errorf("read %s output: %w", name, err)
		}
		dst = c.adoptOutput(dst, out.Response.Output)
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
	dst = c.finishChunk(dst)
	if c.includeUsage {
		dst = c.usageChunk(dst)
	}
	return append(dst, "data: [DONE]\n\n"...), Done, nil
}

// adoptOutput sends the final output items when the stream carried none
// of them (neither deltas nor output_item.done events).
func (c *Converter) adoptOutput(dst []byte, out []upItemFull) []byte {
	for i := range out {
		it := &out[i]
		switch {
		case it.Type == "message":
			dst = c.wholeMessage(dst, it)
		case it.Type == "function_call":
			cl := c.addCall(&it.upItem)
			dst = c.finishCall(c.callChunk(dst, cl), cl, it.Arguments)
		case it.Type == "reasoning" && c.reasoning.Len() == 0:
			for j, sm := range it.Summary {
				text := sm.Text
				if j > 0 {
					text = "\n\n" + text
				}
				dst = c.reason(dst, text)
			}
		}
	}
	return dst
}
