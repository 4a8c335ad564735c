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
	// UpstreamModel is the Codex model it runs as (Models.Resolve).
	UpstreamModel string
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
	t := &Translation{Model: req.Model, UpstreamModel: target.Model, Stream: req.Stream, StopSequences: nonEmpty(req.StopSequences)}
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
