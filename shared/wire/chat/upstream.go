package chat

import "encoding/json"

// The Responses request body, in the field order it is sent. Only what the
// front produces is modelled.
type upstream struct {
	Model             string        `json:"model"`
	Instructions      string        `json:"instructions"`
	Input             []any         `json:"input"`
	Tools             []upTool      `json:"tools,omitempty"`
	ToolChoice        any           `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool         `json:"parallel_tool_calls,omitempty"`
	Reasoning         *upReasoning  `json:"reasoning,omitempty"`
	Text              *upTextConfig `json:"text,omitempty"`
	PromptCacheKey    string        `json:"prompt_cache_key,omitempty"`
	Store             bool          `json:"store"`
	Stream            bool          `json:"stream"`
}

type upMessage struct {
	Type    string `json:"type"`
	Role    string `json:"role"`
	Content []any  `json:"content"`
}

type upTextPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type upRefusalPart struct {
	Type    string `json:"type"`
	Refusal string `json:"refusal"`
}

type upImagePart struct {
	Type     string `json:"type"`
	ImageURL string `json:"image_url"`
	Detail   string `json:"detail,omitempty"`
}

type upFilePart struct {
	Type     string `json:"type"`
	FileData string `json:"file_data"`
	Filename string `json:"filename,omitempty"`
}

type upCall struct {
	Type      string `json:"type"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type upCallOutput struct {
	Type   string `json:"type"`
	CallID string `json:"call_id"`
	Output string `json:"output"`
}

type upTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict,omitempty"`
}

type upNamedTool struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type upReasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

type upTextConfig struct {
	Format    *upFormat `json:"format,omitempty"`
	Verbosity string    `json:"verbosity,omitempty"`
}

type upFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}
