package messages

import (
	"bytes"
	"encoding/json"

	"github.com/codexgate/codexgate/shared/sse"
)

// The Anthropic answer's documents and events.

// Message returns the message object for a non-streaming client (call it
// after Done, when Err is nil).
func (c *Converter) Message() []byte {
	if c.msg == nil {
		return nil
	}
	return marshal(c.msg)
}

// marshal encodes v without HTML escaping (<, > and & stay as they are, as
// in the backend's own JSON) and without a trailing newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // plain structs of strings and numbers: cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// deltaFields name the field of each delta type.
var deltaFields = map[string]string{"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}

// Ping is Anthropic's keep-alive event, sent on long silences.
var Ping = []byte("event: ping\ndata: {\"type\":\"ping\"}\n\n")

// ErrorEvent is an SSE error event for a stream that broke after bytes
// reached the client.
func ErrorEvent(e *Error) []byte {
	return sse.Append(nil, "error", e.JSON())
}

// Anthropic wire shapes.

type messageObject struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

type contentBlock struct {
	Type      string           `json:"type"`
	Text      *string          `json:"text,omitempty"`
	Thinking  *string          `json:"thinking,omitempty"`
	Signature *string          `json:"signature,omitempty"`
	ID        string           `json:"id,omitempty"`
	Name      string           `json:"name,omitempty"`
	Input     *json.RawMessage `json:"input,omitempty"`
	partial   string           // tool_use input JSON being assembled
}

type messageStart struct {
	Type    string        `json:"type"`
	Message messageObject `json:"message"`
}

type blockStart struct {
	Type         string       `json:"type"`
	Index        int          `json:"index"`
	ContentBlock contentBlock `json:"content_block"`
}

type messageDelta struct {
	Type  string    `json:"type"`
	Delta stopDelta `json:"delta"`
	Usage Usage     `json:"usage"`
}

type stopDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}
