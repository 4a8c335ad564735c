package messages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// Translation is a Messages request translated for the Codex backend, plus
// what translating the answer back needs.
type Translation struct {
	// Body is the Responses request body ("stream": true, "store": false, as
	// the backend requires, whatever the client asked).
	Body []byte
	// Model is the client's model name, echoed in the answer.
	Model string
	// Stream is what the client asked for: SSE events or one message object.
	Stream bool
	// CacheKey is the body's prompt_cache_key (from metadata.user_id), which
	// also pins the conversation to one account; empty when none.
	CacheKey string
	// Thinking: the client enabled thinking, so reasoning summaries come
	// back as thinking blocks.
	Thinking bool
	// StopSequences are emulated on the answer's text (stop.go).
	StopSequences []string
	// toolNames maps names shortened for the backend back to the client's.
	toolNames map[string]string
}

// ClientToolName returns the client's name of a tool the backend called.
func (t *Translation) ClientToolName(name string) string {
	if orig, ok := t.toolNames[name]; ok {
		return orig
	}
	return name
}

// request is the part of a Messages request body codexgate reads. Fields
// absent here are ignored (see the rules in doc.go and README).
type request struct {
	Model         string          `json:"model"`
	Messages      []message       `json:"messages"`
	System        json.RawMessage `json:"system"`
	MaxTokens     *json.Number    `json:"max_tokens"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Tools         []tool          `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	Thinking      *thinking       `json:"thinking"`
	OutputConfig  *outputConfig   `json:"output_config"`
	OutputFormat  *outputFormat   `json:"output_format"` // the structured-outputs beta's name for output_config.format
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
	// Refused: they need Anthropic-side servers.
	MCPServers json.RawMessage `json:"mcp_servers"`
	Container  json.RawMessage `json:"container"`
}

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

type outputConfig struct {
	Effort string        `json:"effort"`
	Format *outputFormat `json:"format"`
}

// outputFormat is structured output: the answer follows a JSON schema.
type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
	Display      string `json:"display"` // "omitted": no thinking text wanted
}

// billingHeaderPrefix marks a system block Claude Code adds for Anthropic's
// billing; it means nothing to the Codex backend and is dropped.
const billingHeaderPrefix = "x-anthropic-billing-header:"

// maxToolName is the backend's limit on function names; longer ones (MCP
// tools) are shortened and mapped back in the answer.
const maxToolName = 64

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

// TranslateRequest translates a Messages request body. Errors are *Error
// (400 invalid_request_error) with a message for the client.
func TranslateRequest(raw []byte, models Models) (*Translation, error) {
	return translate(raw, models, true)
}

// TranslateCountRequest translates a count_tokens body, which is a Messages
// request without max_tokens.
func TranslateCountRequest(raw []byte, models Models) (*Translation, error) {
	return translate(raw, models, false)
}

func translate(raw []byte, models Models, needMaxTokens bool) (*Translation, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, invalid("The request body is not a valid Messages request: " + jsonProblem(err))
	}
	if !needMaxTokens && req.MaxTokens == nil {
		one := json.Number("1")
		req.MaxTokens = &one
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	target, ok := models.Resolve(req.Model)
	if !ok {
		return nil, invalid(fmt.Sprintf("model: %q is not mapped to a Codex model (set CODEXGATE_CLAUDE_MODELS)", req.Model))
	}
	t := &Translation{Model: req.Model, Stream: req.Stream, StopSequences: nonEmpty(req.StopSequences)}
	out := responses.Request{Model: target.Model, Store: false, Stream: true, ParallelToolCalls: ptr(true)}

	instructions, err := systemText(req.System)
	if err != nil {
		return nil, err
	}
	out.Instructions = instructions
	if out.Instructions == "" {
		out.Instructions = responses.DefaultInstructions
	}

	if err := t.tools(&out, req.Tools, req.ToolChoice); err != nil {
		return nil, err
	}
	for i, m := range req.Messages {
		items, err := t.messageItems(m)
		if err != nil {
			return nil, invalid(fmt.Sprintf("messages.%d: %s", i, err.Error()))
		}
		out.Input = append(out.Input, items...)
	}
	if len(out.Input) == 0 {
		return nil, invalid("messages: at least one message with content is required")
	}

	out.Reasoning, t.Thinking = reasoningFor(target.Effort, req.Thinking, req.OutputConfig)
	format := req.OutputFormat
	if req.OutputConfig != nil && req.OutputConfig.Format != nil {
		format = req.OutputConfig.Format
	}
	if format != nil {
		schema := bytes.TrimSpace(format.Schema)
		if format.Type != "json_schema" || len(schema) == 0 || schema[0] != '{' {
			return nil, invalid("output_config.format: only {\"type\":\"json_schema\",\"schema\":{…}} is supported")
		}
		out.Text = &responses.Text{Format: &responses.Format{Type: "json_schema", Name: "output", Schema: schema, Strict: ptr(true)}}
	}
	if req.Metadata != nil && req.Metadata.UserID != "" {
		// Claude Code's user_id names the user and the session: a stable
		// per-conversation key for the backend's prompt cache and for
		// account affinity. Hashed: the backend needs no user identity.
		sum := sha256.Sum256([]byte(req.Metadata.UserID))
		t.CacheKey = "cgm_" + hex.EncodeToString(sum[:16])
		out.PromptCacheKey = t.CacheKey
	}
	t.Body = marshal(out)
	return t, nil
}

func (r *request) validate() error {
	switch {
	case r.Model == "":
		return invalid("model: Field required")
	case r.MaxTokens == nil:
		return invalid("max_tokens: Field required")
	case len(r.Messages) == 0:
		return invalid("messages: Field required")
	case len(r.MCPServers) > 0 && string(r.MCPServers) != "null":
		return invalid("mcp_servers: the MCP connector is not supported on Codex accounts")
	case len(r.Container) > 0 && string(r.Container) != "null":
		return invalid("container: containers are not supported on Codex accounts")
	}
	if n, err := r.MaxTokens.Int64(); err != nil || n < 1 {
		return invalid("max_tokens: must be a positive integer")
	}
	return nil
}

// jsonProblem names what was wrong without echoing the body.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: wrong type (%s)", te.Field, te.Value)
	}
	return "malformed JSON"
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// systemText joins the system prompt (a string or text blocks) into the
// backend's instructions.
func systemText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", invalid("system: must be a string or text blocks")
		}
		return s, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", invalid("system: must be a string or text blocks")
	}
	var texts []string
	for i, b := range blocks {
		if b.Type != "text" {
			return "", invalid(fmt.Sprintf("system.%d: only text blocks are allowed, not %q", i, b.Type))
		}
		if b.Text == "" || strings.HasPrefix(b.Text, billingHeaderPrefix) {
			continue
		}
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n\n"), nil
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
	sum := sha256.Sum256([]byte(name))
	short := name[:maxToolName-9] + "_" + hex.EncodeToString(sum[:4])
	if t.toolNames == nil {
		t.toolNames = map[string]string{}
	}
	t.toolNames[short] = name
	return short
}

// reasoningFor picks the reasoning effort: the model mapping's, unless the
// request's thinking budget or output_config.effort asks otherwise. With
// thinking enabled, the backend is asked for a reasoning summary, which
// comes back as thinking blocks.
func reasoningFor(effort string, th *thinking, oc *outputConfig) (*responses.Reasoning, bool) {
	r := &responses.Reasoning{Effort: effort}
	on := false
	if th != nil {
		switch th.Type {
		case "enabled":
			on = true
			switch b := th.BudgetTokens; {
			case b <= 0:
			case b < 4096:
				r.Effort = "low"
			case b < 16384:
				r.Effort = "medium"
			default:
				r.Effort = "high"
			}
		case "adaptive", "auto":
			on = true
		}
		if th.Display == "omitted" {
			// The client shows no thinking text: reason, but ask for no
			// summary (fewer tokens, no thinking blocks).
			on = false
		}
	}
	if oc != nil {
		switch e := strings.ToLower(oc.Effort); e {
		case "low", "medium", "high":
			r.Effort = e
		case "max":
			r.Effort = "high"
		}
	}
	if on {
		r.Summary = "auto"
	}
	return r, on
}

// CountTokens estimates the input tokens of a translated request: one token
// per four bytes of the Responses body, the rule of thumb for English text
// and code. It is an estimate (the backend has no counting endpoint), good
// for a client's context budgeting, not for billing.
func CountTokens(t *Translation) int {
	return max(1, (len(t.Body)+3)/4)
}

// ptr returns a pointer to v, for the optional fields of a request.
func ptr[T any](v T) *T { return &v }
