package chat

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/codexgate/codexgate/shared/wire/models"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// Translated is a Chat Completions request turned into a Responses request.
type Translated struct {
	// Body is the Responses request body: "stream": true and "store": false
	// (the backend accepts nothing else) and non-empty instructions.
	Body []byte
	// Model is the client's model, echoed in the answer.
	Model string
	// UpstreamModel is the model Body asks for (what a key's model
	// allow-list is checked against).
	UpstreamModel string
	// Stream is what the client asked for: chunks, or one chat.completion.
	Stream bool
	// IncludeUsage: stream_options.include_usage, a final usage chunk.
	IncludeUsage bool
	// CacheKey is the prompt_cache_key sent upstream (from prompt_cache_key
	// or user), also usable for account affinity. Empty when none.
	CacheKey string
}

// request is the part of a Chat Completions body the front reads. Fields
// it drops (temperature, max_tokens, ...) are simply not decoded.
type request struct {
	Model             string          `json:"model"`
	Messages          []message       `json:"messages"`
	Stream            bool            `json:"stream"`
	StreamOptions     *streamOptions  `json:"stream_options"`
	Tools             []tool          `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	ReasoningEffort   string          `json:"reasoning_effort"`
	ResponseFormat    *responseFormat `json:"response_format"`
	Verbosity         string          `json:"verbosity"`
	User              string          `json:"user"`
	PromptCacheKey    string          `json:"prompt_cache_key"`

	// Refused when set to something that changes the answer's shape.
	N            *int            `json:"n"`
	Logprobs     *bool           `json:"logprobs"`
	TopLogprobs  *int            `json:"top_logprobs"`
	Stop         json.RawMessage `json:"stop"`
	Modalities   []string        `json:"modalities"`
	Audio        json.RawMessage `json:"audio"`
	Functions    json.RawMessage `json:"functions"`
	FunctionCall json.RawMessage `json:"function_call"`
	Prediction   json.RawMessage `json:"prediction"`
	WebSearch    json.RawMessage `json:"web_search_options"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []toolCall      `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Refusal    *string         `json:"refusal"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
		Filename string `json:"filename"`
	} `json:"file"`
}

type tool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"json_schema"`
}

// emptyParameters is sent for a function without a parameters schema: the
// Responses API requires the field.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// Translate turns a Chat Completions request body into a Responses request
// body for the Codex backend. A request it cannot serve faithfully is an
// *Error.
func Translate(body []byte) (*Translated, error) { return TranslateNames(body, nil) }

// TranslateNames is Translate with the client's model name resolved by
// names (aliases, effort suffixes; nil: none): a resolved name is sent as
// its model, and its effort, when it names one, wins over
// reasoning_effort. The answer still names the client's model.
func TranslateNames(body []byte, names *models.Resolver) (*Translated, error) {
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		e := &Error{Code: CodeInvalidJSON, Message: "The request body is not a valid Chat Completions request: " + jsonProblem(err)}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			e.Param = te.Field
		}
		return nil, e
	}
	if err := req.refused(); err != nil {
		return nil, err
	}
	if req.Model == "" {
		return nil, missing("model")
	}
	if len(req.Messages) == 0 {
		return nil, missing("messages")
	}
	up := responses.Request{Model: req.Model, Input: make([]any, 0, len(req.Messages)), Store: false, Stream: true}
	var err error
	if up.Instructions, up.Input, err = translateMessages(req.Messages, up.Input); err != nil {
		return nil, err
	}
	if up.Tools, err = translateTools(req.Tools); err != nil {
		return nil, err
	}
	if up.ToolChoice, err = translateToolChoice(req.ToolChoice); err != nil {
		return nil, err
	}
	up.ParallelToolCalls = req.ParallelToolCalls
	effort := req.ReasoningEffort
	if t, ok := names.Resolve(req.Model); ok {
		up.Model = t.Model
		if t.Effort != "" {
			effort = t.Effort
		}
	}
	up.Reasoning = translateReasoning(effort)
	if up.Text, err = translateFormat(req.ResponseFormat, req.Verbosity); err != nil {
		return nil, err
	}
	up.PromptCacheKey = req.PromptCacheKey
	if up.PromptCacheKey == "" {
		// "user" is the older name for the same bucketing hint; the backend
		// refuses "user" itself.
		up.PromptCacheKey = req.User
	}
	out, err := json.Marshal(up)
	if err != nil {
		return nil, fmt.Errorf("encode responses request: %w", err)
	}
	t := &Translated{Body: out, Model: req.Model, UpstreamModel: up.Model, Stream: req.Stream, CacheKey: up.PromptCacheKey}
	t.IncludeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return t, nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("'%s' must be %s, not %s.", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	return "not a JSON object."
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// refused checks the parameters the front cannot honour: the backend has no
// equivalent and dropping them would change what the client gets back.
func (r *request) refused() error {
	switch {
	case r.N != nil && *r.N > 1:
		return unsupportedValue("n", "the Codex backend produces one choice per request; send n=1 or leave it out.")
	case r.Logprobs != nil && *r.Logprobs:
		return unsupportedValue("logprobs", "the Codex backend returns no log probabilities.")
	case r.TopLogprobs != nil && *r.TopLogprobs > 0:
		return unsupportedValue("top_logprobs", "the Codex backend returns no log probabilities.")
	case isSet(r.Stop) && string(r.Stop) != `""` && string(r.Stop) != `[]`:
		return unsupported("stop", "is not supported by the Codex backend.")
	case isSet(r.Audio):
		return unsupported("audio", "is not supported: the Codex backend answers text.")
	case len(r.Modalities) > 1 || (len(r.Modalities) == 1 && r.Modalities[0] != "text"):
		return unsupportedValue("modalities", "the Codex backend answers text only.")
	case isSet(r.Functions), isSet(r.FunctionCall):
		return unsupported(map[bool]string{true: "functions", false: "function_call"}[isSet(r.Functions)], "is deprecated; send 'tools' and 'tool_choice' instead.")
	case isSet(r.Prediction):
		return unsupported("prediction", "is not supported by the Codex backend.")
	case isSet(r.WebSearch):
		return unsupported("web_search_options", "is not supported by this endpoint.")
	}
	return nil
}

func isSet(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// translateTools flattens function tools; other tool types are refused.
func translateTools(tools []tool) ([]responses.FunctionTool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]responses.FunctionTool, 0, len(tools))
	for i, t := range tools {
		at := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" {
			return nil, unsupportedValue(at+".type", fmt.Sprintf("'%s' tools are not supported; only function tools are.", t.Type))
		}
		if t.Function == nil || t.Function.Name == "" {
			return nil, missing(at + ".function.name")
		}
		params := t.Function.Parameters
		if !isSet(params) {
			params = emptyParameters
		}
		out = append(out, responses.FunctionTool{Type: "function", Name: t.Function.Name, Description: t.Function.Description, Parameters: params, Strict: t.Function.Strict})
	}
	return out, nil
}

// translateToolChoice maps "auto" | "none" | "required" | a named function.
func translateToolChoice(raw json.RawMessage) (any, error) {
	if !isSet(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "none", "required":
			return s, nil
		}
		return nil, invalid("tool_choice", fmt.Sprintf("'%s' is not one of auto, none, required.", s))
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Type != "function" {
		return nil, unsupportedValue("tool_choice", "only auto, none, required or {\"type\":\"function\",\"function\":{\"name\":…}} are supported.")
	}
	if named.Function.Name == "" {
		return nil, missing("tool_choice.function.name")
	}
	return responses.NamedToolChoice{Type: "function", Name: named.Function.Name}, nil
}

// translateReasoning sets the effort and asks for a reasoning summary, which
// the converter streams as reasoning_content. Efforts that do not reason
// get no summary.
func translateReasoning(effort string) *responses.Reasoning {
	switch effort {
	case "none", "minimal":
		return &responses.Reasoning{Effort: effort}
	}
	return &responses.Reasoning{Effort: effort, Summary: "auto"}
}

// translateFormat maps response_format and verbosity to text.
func translateFormat(rf *responseFormat, verbosity string) (*responses.Text, error) {
	if rf == nil && verbosity == "" {
		return nil, nil
	}
	t := &responses.Text{Verbosity: verbosity}
	if rf == nil {
		return t, nil
	}
	switch rf.Type {
	case "text", "json_object":
		t.Format = &responses.Format{Type: rf.Type}
	case "json_schema":
		js := rf.JSONSchema
		if js == nil || js.Name == "" {
			return nil, missing("response_format.json_schema.name")
		}
		t.Format = &responses.Format{Type: "json_schema", Name: js.Name, Description: js.Description, Schema: js.Schema, Strict: js.Strict}
	default:
		return nil, invalid("response_format.type", fmt.Sprintf("'%s' is not one of text, json_object, json_schema.", rf.Type))
	}
	return t, nil
}
