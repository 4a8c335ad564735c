package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// translateMessages maps messages to instructions and input items.
func translateMessages(msgs []message, input []any) (string, []any, error) {
	var instructions []string
	leading := true
	for i, m := range msgs {
		at := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer":
			text, err := plainText(m.Content, at)
			if err != nil {
				return "", nil, err
			}
			if leading {
				instructions = append(instructions, text)
				continue
			}
			input = append(input, responses.Message{Type: "message", Role: "developer", Content: []any{responses.TextPart{Type: "input_text", Text: text}}})
		case "user":
			leading = false
			parts, err := userContent(m.Content, at)
			if err != nil {
				return "", nil, err
			}
			input = append(input, responses.Message{Type: "message", Role: "user", Content: parts})
		case "assistant":
			leading = false
			var err error
			if input, err = assistantItems(m, at, input); err != nil {
				return "", nil, err
			}
		case "tool":
			leading = false
			if m.ToolCallID == "" {
				return "", nil, missing(at + ".tool_call_id")
			}
			out, err := plainText(m.Content, at)
			if err != nil {
				return "", nil, err
			}
			input = append(input, responses.FunctionCallOutput{Type: "function_call_output", CallID: m.ToolCallID, Output: out})
		case "function":
			return "", nil, unsupportedValue(at+".role", "'function' messages are deprecated; answer tool calls with role 'tool' and a tool_call_id.")
		case "":
			return "", nil, missing(at + ".role")
		default:
			return "", nil, invalid(at+".role", fmt.Sprintf("'%s' is not one of system, developer, user, assistant, tool.", m.Role))
		}
	}
	ins := strings.Join(instructions, "\n\n")
	if strings.TrimSpace(ins) == "" {
		ins = responses.DefaultInstructions
	}
	return ins, input, nil
}

// decodeContent reads content as a string (one text part) or an array of
// parts; null is no parts.
func decodeContent(raw json.RawMessage, at string) ([]contentPart, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(at+".content", "not a valid string.")
		}
		return []contentPart{{Type: "text", Text: s}}, nil
	case raw[0] == '[':
		var parts []contentPart
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, invalid(at+".content", "expected an array of content parts.")
		}
		return parts, nil
	}
	return nil, invalid(at+".content", "expected a string or an array of content parts.")
}

// plainText is the text of a system, developer or tool message: text parts
// only, concatenated.
func plainText(raw json.RawMessage, at string) (string, error) {
	parts, err := decodeContent(raw, at)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" {
			return "", unsupportedValue(fmt.Sprintf("%s.content[%d].type", at, j), fmt.Sprintf("'%s' parts are not allowed in this message; send text.", p.Type))
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// userContent maps user parts: text, images (URLs or data URLs) and files
// given inline.
func userContent(raw json.RawMessage, at string) ([]any, error) {
	parts, err := decodeContent(raw, at)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(parts))
	for j, p := range parts {
		pat := fmt.Sprintf("%s.content[%d]", at, j)
		switch p.Type {
		case "text":
			out = append(out, responses.TextPart{Type: "input_text", Text: p.Text})
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, missing(pat + ".image_url.url")
			}
			out = append(out, responses.ImagePart{Type: "input_image", ImageURL: p.ImageURL.URL, Detail: p.ImageURL.Detail})
		case "file":
			if p.File == nil || p.File.FileData == "" {
				return nil, unsupportedValue(pat+".file", "only files sent inline as file_data are supported (the Codex backend has no file storage).")
			}
			out = append(out, responses.FilePart{Type: "input_file", FileData: p.File.FileData, Filename: p.File.Filename})
		default:
			return nil, unsupportedValue(pat+".type", fmt.Sprintf("'%s' parts are not supported; send text, image_url or file.", p.Type))
		}
	}
	if len(out) == 0 {
		out = append(out, responses.TextPart{Type: "input_text", Text: ""})
	}
	return out, nil
}

// assistantItems maps an assistant message: its text (if any) as a message,
// then each tool call as a function_call item.
func assistantItems(m message, at string, input []any) ([]any, error) {
	parts, err := decodeContent(m.Content, at)
	if err != nil {
		return nil, err
	}
	content := make([]any, 0, len(parts)+1)
	for j, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				content = append(content, responses.TextPart{Type: "output_text", Text: p.Text})
			}
		case "refusal":
			content = append(content, responses.RefusalPart{Type: "refusal", Refusal: p.Refusal})
		default:
			return nil, unsupportedValue(fmt.Sprintf("%s.content[%d].type", at, j), fmt.Sprintf("'%s' parts are not allowed in assistant messages.", p.Type))
		}
	}
	if m.Refusal != nil && *m.Refusal != "" {
		content = append(content, responses.RefusalPart{Type: "refusal", Refusal: *m.Refusal})
	}
	if len(content) > 0 {
		input = append(input, responses.Message{Type: "message", Role: "assistant", Content: content})
	}
	for j, tc := range m.ToolCalls {
		tat := fmt.Sprintf("%s.tool_calls[%d]", at, j)
		switch {
		case tc.Type != "" && tc.Type != "function":
			return nil, unsupportedValue(tat+".type", fmt.Sprintf("'%s' tool calls are not supported; only function calls are.", tc.Type))
		case tc.ID == "":
			return nil, missing(tat + ".id")
		case tc.Function.Name == "":
			return nil, missing(tat + ".function.name")
		}
		input = append(input, responses.FunctionCall{Type: "function_call", CallID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return input, nil
}
