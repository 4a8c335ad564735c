package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// Tools: client tools become Responses functions; Anthropic's server
// tools are refused.

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

// maxToolName is the backend's limit on function names; longer ones (MCP
// tools) are shortened and mapped back in the answer.
const maxToolName = 64

// tools translates tool definitions and tool_choice. Client tools become
// functions; Anthropic server tools (web search, code execution, computer
// use, …) run on Anthropic's side and are refused.
func (t *Translation) tools(out *responses.Request, tools []tool, choice *toolChoice) error {
	seen := map[string]bool{}
	for i, tl := range tools {
		if tl.Type != "" && tl.Type != "custom" {
			return invalid(fmt.Sprintf("tools.%d: server tool %q is not supported on Codex accounts; only client tools (name, input_schema) are", i, tl.Type))
		}
		if tl.Name == "" {
			return invalid(fmt.Sprintf("tools.%d.name: Field required", i))
		}
		if seen[tl.Name] {
			return invalid(fmt.Sprintf("tools.%d: tool name %q is used twice", i, tl.Name))
		}
		seen[tl.Name] = true
		params, err := parameters(tl.InputSchema)
		if err != nil {
			return invalid(fmt.Sprintf("tools.%d.input_schema: must be a JSON schema object", i))
		}
		out.Tools = append(out.Tools, responses.FunctionTool{Type: "function", Name: t.backendToolName(tl.Name), Description: tl.Description, Parameters: params, Strict: ptr(false)})
	}
	if choice == nil {
		if len(out.Tools) > 0 {
			out.ToolChoice = "auto"
		}
		return nil
	}
	if choice.DisableParallelToolUse {
		out.ParallelToolCalls = ptr(false)
	}
	switch choice.Type {
	case "auto", "":
		if len(out.Tools) > 0 {
			out.ToolChoice = "auto"
		}
	case "any":
		if len(out.Tools) == 0 {
			return invalid("tool_choice: \"any\" needs tools")
		}
		out.ToolChoice = "required"
	case "tool":
		if !seen[choice.Name] {
			return invalid(fmt.Sprintf("tool_choice.name: %q is not one of the tools", choice.Name))
		}
		out.ToolChoice = responses.NamedToolChoice{Type: "function", Name: t.backendToolName(choice.Name)}
	case "none":
		if len(out.Tools) > 0 {
			out.ToolChoice = "none"
		}
	default:
		return invalid(fmt.Sprintf("tool_choice.type: unknown value %q", choice.Type))
	}
	return nil
}

// parameters is a tool's input_schema as function parameters, without its
// top-level "$schema" (peers strip it for the Codex backend). Deferred
// tools (defer_loading) are declared like any other: the backend has no
// tool search.
func parameters(schema json.RawMessage) (json.RawMessage, error) {
	schema = bytes.TrimSpace(schema)
	if len(schema) == 0 || schema[0] != '{' {
		return nil, errors.New("not an object")
	}
	if !bytes.Contains(schema, []byte(`"$schema"`)) {
		return schema, nil
	}
	if out, ok := cutLeadingSchema(schema); ok {
		return out, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, err
	}
	delete(top, "$schema")
	return marshal(top), nil
}

// cutLeadingSchema removes `"$schema":"…",` when it is the object's first
// member, as JSON Schema generators (and Claude Code) write it: the common
// case, without decoding the schema.
func cutLeadingSchema(schema []byte) ([]byte, bool) {
	rest := bytes.TrimLeft(schema[1:], " \t\r\n")
	rest, ok := bytes.CutPrefix(rest, []byte(`"$schema"`))
	if !ok {
		return nil, false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if rest, ok = bytes.CutPrefix(rest, []byte(":")); !ok {
		return nil, false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(rest[1:], '"') // a schema URL has no escaped quotes
	if end < 0 || bytes.IndexByte(rest[1:end+1], '\\') >= 0 {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[end+2:], " \t\r\n")
	if rest, ok = bytes.CutPrefix(rest, []byte(",")); !ok {
		return nil, false
	}
	out := make([]byte, 0, len(rest)+1)
	out = append(out, '{')
	return append(out, rest...), true
}

// backendToolName shortens a name over the backend's limit to a stable
// prefix plus a hash, and remembers the mapping for the answer.
func (t *Translation) backendToolName(name string) string {
	if len(name) <= maxToolName {
		return name
	}
	short := name[:maxToolName-9] + "_" + hashHex(name, 4)
	if t.toolNames == nil {
		t.toolNames = map[string]string{}
	}
	t.toolNames[short] = name
	return short
}
