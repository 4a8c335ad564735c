package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// Content blocks: a message's blocks become Responses input items, each
// block mapped, dropped or refused (the rules are in doc.go and README).

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // a string or blocks
}

type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *imageSource    `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"` // tool_result: a string or blocks
	IsError   bool            `json:"is_error"`
	ToolName  string          `json:"tool_name"` // tool_reference
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

// imageTypes are the media types Anthropic accepts for base64 images.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// refusedBlocks need Anthropic-side features the Codex backend lacks.
var refusedBlocks = map[string]string{
	"document":                        "document blocks (PDF and text documents) are not supported on Codex accounts; send the text as a text block",
	"search_result":                   "search_result blocks are not supported on Codex accounts",
	"server_tool_use":                 "server tools are not supported on Codex accounts",
	"web_search_tool_result":          "server tools are not supported on Codex accounts",
	"web_fetch_tool_result":           "server tools are not supported on Codex accounts",
	"code_execution_tool_result":      "server tools are not supported on Codex accounts",
	"bash_code_execution_tool_result": "server tools are not supported on Codex accounts",
	"mcp_tool_use":                    "the MCP connector is not supported on Codex accounts",
	"mcp_tool_result":                 "the MCP connector is not supported on Codex accounts",
	"container_upload":                "containers are not supported on Codex accounts",
}

// contentBlocks decodes message content: a string is one text block.
func contentBlocks(raw json.RawMessage) ([]block, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("content: must be a string or blocks")
		}
		return []block{{Type: "text", Text: s}}, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil || len(raw) == 0 || raw[0] != '[' {
		return nil, fmt.Errorf("content: must be a string or blocks")
	}
	return blocks, nil
}

// messageItems translates one message into Responses input items, in
// order: text and images gather into a message item; a tool_use becomes a
// function_call item and a tool_result a function_call_output item, each
// ending the message item before it.
func (t *Translation) messageItems(m message) ([]any, error) {
	var role, textType string
	switch m.Role {
	case "user":
		role, textType = "user", "input_text"
	case "assistant":
		role, textType = "assistant", "output_text"
	case "system":
		// Claude Code sends mid-conversation system messages; the Responses
		// API's equivalent is a developer message.
		role, textType = "developer", "input_text"
	default:
		return nil, fmt.Errorf("role: must be \"user\", \"assistant\" or \"system\", not %q", m.Role)
	}
	blocks, err := contentBlocks(m.Content)
	if err != nil {
		return nil, err
	}
	var items []any
	var parts []any
	flush := func() {
		if len(parts) > 0 {
			items = append(items, responses.Message{Type: "message", Role: role, Content: parts})
			parts = nil
		}
	}
	for j, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text != "" {
				parts = append(parts, responses.TextPart{Type: textType, Text: b.Text})
			}
		case "image":
			if role != "user" {
				return nil, fmt.Errorf("content.%d: image blocks belong in user messages", j)
			}
			p, err := imagePart(b.Source)
			if err != nil {
				return nil, fmt.Errorf("content.%d: %w", j, err)
			}
			parts = append(parts, p)
		case "tool_use":
			if role != "assistant" {
				return nil, fmt.Errorf("content.%d: tool_use blocks belong in assistant messages", j)
			}
			if b.ID == "" || b.Name == "" {
				return nil, fmt.Errorf("content.%d: tool_use needs id and name", j)
			}
			flush()
			args := string(bytes.TrimSpace(b.Input))
			if args == "" || args == "null" {
				args = "{}"
			}
			items = append(items, responses.FunctionCall{Type: "function_call", CallID: b.ID, Name: t.backendToolName(b.Name), Arguments: args})
		case "tool_result":
			if role != "user" {
				return nil, fmt.Errorf("content.%d: tool_result blocks belong in user messages", j)
			}
			if b.ToolUseID == "" {
				return nil, fmt.Errorf("content.%d: tool_result needs tool_use_id", j)
			}
			out, err := toolOutput(b)
			if err != nil {
				return nil, fmt.Errorf("content.%d: %w", j, err)
			}
			flush()
			items = append(items, responses.FunctionCallOutput{Type: "function_call_output", CallID: b.ToolUseID, Output: out})
		case "thinking", "redacted_thinking":
			// Dropped: the backend's reasoning cannot be replayed from an
			// Anthropic thinking block, and the model does not need it.
		default:
			if why, ok := refusedBlocks[b.Type]; ok {
				return nil, fmt.Errorf("content.%d: %s", j, why)
			}
			return nil, fmt.Errorf("content.%d: unknown content block type %q", j, b.Type)
		}
	}
	flush()
	return items, nil
}

func imagePart(src *imageSource) (responses.ImagePart, error) {
	if src == nil {
		return responses.ImagePart{}, fmt.Errorf("image: source is required")
	}
	switch src.Type {
	case "base64":
		if !imageTypes[src.MediaType] {
			return responses.ImagePart{}, fmt.Errorf("image: media_type must be image/jpeg, image/png, image/gif or image/webp, not %q", src.MediaType)
		}
		if src.Data == "" {
			return responses.ImagePart{}, fmt.Errorf("image: data is required")
		}
		return responses.ImagePart{Type: "input_image", ImageURL: "data:" + src.MediaType + ";base64," + src.Data}, nil
	case "url":
		if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
			return responses.ImagePart{}, fmt.Errorf("image: url must be an http(s) URL")
		}
		return responses.ImagePart{Type: "input_image", ImageURL: src.URL}, nil
	case "file":
		return responses.ImagePart{}, fmt.Errorf("image: the Files API is not supported on Codex accounts; send the image as base64 or a URL")
	default:
		return responses.ImagePart{}, fmt.Errorf("image: unknown source type %q", src.Type)
	}
}

// toolErrorPrefix marks a tool_result with is_error: the Responses API has
// no error flag on a function_call_output, so the model reads it in the
// text.
const toolErrorPrefix = "[tool error] "

// toolOutput is a tool_result's output: a string, or input parts when the
// result holds images.
func toolOutput(b block) (any, error) {
	prefix := ""
	if b.IsError {
		prefix = toolErrorPrefix
	}
	raw := bytes.TrimSpace(b.Content)
	if len(raw) == 0 || string(raw) == "null" {
		return prefix, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("tool_result content: must be a string or blocks")
		}
		return prefix + s, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, fmt.Errorf("tool_result content: must be a string or blocks")
	}
	var texts []string
	var parts []any
	hasImage := false
	for k, c := range blocks {
		switch c.Type {
		case "text":
			texts = append(texts, c.Text)
			parts = append(parts, responses.TextPart{Type: "input_text", Text: c.Text})
		case "tool_reference":
			// Claude Code's tool search answers with references to deferred
			// tools; every tool is declared to the backend up front, so a
			// reference only needs to tell the model the tool is there.
			text := "Tool " + c.ToolName + " is available."
			texts = append(texts, text)
			parts = append(parts, responses.TextPart{Type: "input_text", Text: text})
		case "image":
			p, err := imagePart(c.Source)
			if err != nil {
				return nil, fmt.Errorf("tool_result content.%d: %w", k, err)
			}
			parts = append(parts, p)
			hasImage = true
		default:
			if why, ok := refusedBlocks[c.Type]; ok {
				return nil, fmt.Errorf("tool_result content.%d: %s", k, why)
			}
			return nil, fmt.Errorf("tool_result content.%d: unknown content block type %q", k, c.Type)
		}
	}
	if !hasImage {
		return prefix + strings.Join(texts, "\n"), nil
	}
	if prefix != "" {
		parts = append([]any{responses.TextPart{Type: "input_text", Text: strings.TrimSpace(prefix)}}, parts...)
	}
	return parts, nil
}
