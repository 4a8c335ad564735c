package messages

import (
	"strings"

	"github.com/codexgate/codexgate/shared/jsonscan"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// The upstream's Responses events, decoded only as far as the converter
// reads them (skimmed with the helpers in scan.go).

// event is the union of the Responses event fields the converter reads.
type event struct {
	Delta        string
	Text         string
	OutputIndex  int
	SummaryIndex int
	Item         *item
	Response     *response
	Error        *failure
	Code         string
	Message      string
}

type item struct {
	Type      string
	CallID    string
	Name      string
	Arguments string
	content   []byte // a message's raw content parts
}

// text is a message item's text (output_text and refusal parts).
func (it *item) text() string {
	var parts []struct {
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	decodeInto(it.content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
		b.WriteString(p.Refusal)
	}
	return b.String()
}

type response struct {
	ID                string   `json:"id"`
	Error             *failure `json:"error"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Usage *responses.Usage
}

type failure struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (f *failure) kind() string {
	if f.Code != "" {
		return f.Code
	}
	return f.Type
}

// ignored are the Responses events that carry nothing the Anthropic answer
// needs; they are skipped without decoding.
var ignored = map[string]bool{
	"response.content_part.added":           true,
	"response.content_part.done":            true,
	"response.reasoning_summary_part.added": true,
	"response.reasoning_summary_part.done":  true,
	"response.reasoning_summary_text.done":  true,
	"response.output_text.annotation.added": true,
	"response.queued":                       true,
	"response.in_progress":                  true, // message_start waits for created or the first item
}

// eventKeys are the top-level fields of a Responses event the converter
// reads.
var eventKeys = []string{"type", "delta", "text", "output_index", "summary_index", "item", "response", "error", "code", "message"}

// decodeEvent skims one event's data (see scan.go).
func decodeEvent(name string, data []byte) (string, event, bool) {
	var buf [10][]byte
	f, ok := jsonscan.FieldsInto(buf[:len(eventKeys)], data, eventKeys)
	if !ok {
		return name, event{}, false
	}
	if name == "" {
		name = jsonString(f[0])
	}
	// Decode only what this event's case reads: the done events repeat
	// whole texts and responses.
	ev := event{OutputIndex: jsonInt(f[3])}
	switch name {
	case "response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta":
		ev.Delta = jsonString(f[1])
	case "response.reasoning_summary_text.delta":
		ev.Delta, ev.SummaryIndex = jsonString(f[1]), jsonInt(f[4])
	case "response.output_text.done":
		ev.Text = jsonString(f[2])
	case "response.output_item.added", "response.output_item.done":
		if len(f[5]) > 0 && f[5][0] == '{' {
			ev.Item = decodeItem(f[5])
		}
	case "response.created", "response.completed", "response.incomplete", "response.failed":
		if len(f[6]) > 0 && f[6][0] == '{' {
			ev.Response = decodeResponse(f[6])
		}
	case "error":
		ev.Code, ev.Message = jsonString(f[8]), jsonString(f[9])
		if len(f[7]) > 0 && f[7][0] == '{' {
			ev.Error = &failure{}
			decodeInto(f[7], ev.Error)
		}
	}
	return name, ev, true
}

func decodeItem(raw []byte) *item {
	f, _ := jsonscan.Fields(raw, "type", "call_id", "name", "arguments", "content")
	it := &item{Type: jsonString(f[0]), CallID: jsonString(f[1]), Name: jsonString(f[2]), Arguments: jsonString(f[3])}
	if it.Type == "message" {
		it.content = f[4] // decoded only when no delta carried the text
	}
	return it
}

func decodeResponse(raw []byte) *response {
	f, _ := jsonscan.Fields(raw, "id", "error", "incomplete_details", "usage")
	r := &response{ID: jsonString(f[0])}
	if e := new(failure); decodeInto(f[1], e) {
		r.Error = e
	}
	decodeInto(f[2], &r.IncompleteDetails)
	if u, ok := responses.DecodeUsage(f[3]); ok {
		r.Usage = &u
	}
	return r
}
