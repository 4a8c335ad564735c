package chat

import (
	"encoding/json"
	"fmt"
)

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
