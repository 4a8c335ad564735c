package responses

import "encoding/json"

// Request is a Responses request body as the Codex backend accepts it. The
// fields are the ones Codex CLI itself sends, in its order: the backend
// refuses max_output_tokens, temperature, top_p and other sampling knobs,
// and requires Store false, Stream true and non-empty Instructions.
type Request struct {
	Model        string `json:"model"`
	Instructions string `json:"instructions"`
	// Input holds Message, FunctionCall and FunctionCallOutput items.
	Input []any          `json:"input"`
	Tools []FunctionTool `json:"tools,omitempty"`
	// ToolChoice is "auto", "required", "none" or a NamedToolChoice.
	ToolChoice any `json:"tool_choice,omitempty"`
	// ParallelToolCalls is left out when nil: the backend's default (true).
	ParallelToolCalls *bool      `json:"parallel_tool_calls,omitempty"`
	Reasoning         *Reasoning `json:"reasoning,omitempty"`
	Store             bool       `json:"store"`
	Stream            bool       `json:"stream"`
	PromptCacheKey    string     `json:"prompt_cache_key,omitempty"`
	Text              *Text      `json:"text,omitempty"`
}

// Message is an input message item. Content holds TextPart, RefusalPart,
// ImagePart and FilePart values.
type Message struct {
	Type    string `json:"type"` // "message"
	Role    string `json:"role"` // user, assistant, developer
	Content []any  `json:"content"`
}

// TextPart is an input_text or output_text content part. Text is always
// sent, even empty: the backend requires the field.
type TextPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// RefusalPart is an assistant message's refusal.
type RefusalPart struct {
	Type    string `json:"type"` // "refusal"
	Refusal string `json:"refusal"`
}

// ImagePart is an input_image: an http(s) URL or a data URL.
type ImagePart struct {
	Type     string `json:"type"` // "input_image"
	ImageURL string `json:"image_url"`
	Detail   string `json:"detail,omitempty"`
}

// FilePart is an input_file sent inline as a data URL.
type FilePart struct {
	Type     string `json:"type"` // "input_file"
	FileData string `json:"file_data"`
	Filename string `json:"filename,omitempty"`
}

// FunctionCall is a call the model made earlier in the conversation.
type FunctionCall struct {
	Type      string `json:"type"` // "function_call"
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// FunctionCallOutput is a call's result: a string, or content parts when
// the result holds images.
type FunctionCallOutput struct {
	Type   string `json:"type"` // "function_call_output"
	CallID string `json:"call_id"`
	Output any    `json:"output"`
}

// FunctionTool declares a function the model may call.
type FunctionTool struct {
	Type        string          `json:"type"` // "function"
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict,omitempty"`
}

// NamedToolChoice forces one function.
type NamedToolChoice struct {
	Type string `json:"type"` // "function"
	Name string `json:"name"`
}

// Reasoning sets the reasoning effort and asks for a summary ("auto"),
// which is what streams back as reasoning text.
type Reasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// Text shapes the answer's text: structured output and verbosity.
type Text struct {
	Format    *Format `json:"format,omitempty"`
	Verbosity string  `json:"verbosity,omitempty"`
}

// Format is the answer's format: "text", "json_object" or a "json_schema"
// with its schema.
type Format struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}
