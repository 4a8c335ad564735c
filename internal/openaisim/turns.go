package openaisim

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Directives a test writes into the last user message to script a turn
// (documented in doc.go).
const (
	directiveCall       = "openaisim:call "
	directiveFail       = "openaisim:fail "
	directiveIncomplete = "openaisim:incomplete"
)

// ReasoningSummary is the reasoning summary text a turn streams when the
// request asks for reasoning summaries.
const ReasoningSummary = "Considering the request step by step (simulated reasoning)."

// refusedParams are top-level Responses parameters the ChatGPT Codex backend
// answers 400 "Unsupported parameter: X" to. Peers that proxy the same
// backend strip exactly these before forwarding (token limits, sampling,
// truncation, context_management, user, prompt_cache_retention,
// safety_identifier, stream_options), so fronts must drop or refuse them.
var refusedParams = []string{
	"max_output_tokens", "max_completion_tokens", "temperature", "top_p",
	"truncation", "context_management", "user", "prompt_cache_retention",
	"safety_identifier", "stream_options",
}

// refusedParam returns the first refused parameter present in a decoded
// body, or "".
func refusedParam(top map[string]json.RawMessage) string {
	for _, p := range refusedParams {
		if _, ok := top[p]; ok {
			return p
		}
	}
	return ""
}

// longInputTokens is the input size from which a turn reports half of its
// input as cached, like a long shared prefix hitting the prompt cache.
const longInputTokens = 256

// funcCall is the function call a scripted turn answers with.
type funcCall struct {
	itemID, callID string
	name, args     string
}

// conversation is what the simulator reads from a request's input.
type conversation struct {
	lastUser      string // text of the last user message
	toolOutput    *string
	callAfterUser bool // a function_call_output follows the last user message
}

// readConversation extracts the last user message text and, when the input
// ends with a function_call_output, that output. Unknown shapes are skipped:
// the sim validates the request elsewhere.
func readConversation(input json.RawMessage) conversation {
	var c conversation
	in := bytes.TrimSpace(input)
	if len(in) > 0 && in[0] == '"' {
		_ = json.Unmarshal(in, &c.lastUser)
		return c
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(in, &items) != nil {
		return c
	}
	for i, it := range items {
		typ, role := str(it["type"]), str(it["role"])
		switch {
		case typ == "function_call_output":
			c.callAfterUser = true
			if i == len(items)-1 {
				out := contentText(it["output"])
				c.toolOutput = &out
			}
		case (typ == "message" || typ == "") && role == "user":
			c.lastUser = contentText(it["content"])
			c.callAfterUser = false
		}
	}
	return c
}

// str decodes a JSON string, "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// contentText is a string, or the concatenated text of an array of parts.
func contentText(raw json.RawMessage) string {
	if s := str(raw); s != "" {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// directiveArg returns the rest of the line after directive in text.
func directiveArg(text, directive string) (string, bool) {
	i := strings.Index(text, directive)
	if i < 0 {
		return "", false
	}
	rest := text[i+len(directive):]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest), true
}

// toolNames lists the function tools of a request (type "function", by name).
func toolNames(raw json.RawMessage) map[string]bool {
	var tools []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &tools)
	out := map[string]bool{}
	for _, t := range tools {
		if t.Type == "function" {
			out[t.Name] = true
		}
	}
	return out
}

// wantsReasoning reports whether the request asks for a reasoning summary
// with an effort that produces reasoning (a missing effort is the backend's
// default, medium).
func wantsReasoning(raw json.RawMessage) bool {
	var r struct {
		Effort  string `json:"effort"`
		Summary string `json:"summary"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return false
	}
	switch {
	case r.Summary == "" || r.Summary == "none":
		return false
	case r.Effort == "none" || r.Effort == "minimal":
		return false
	}
	return true
}

// planTurn decides what the turn answers from the request: a scripted
// function call, a tool-result acknowledgement, a failure, a truncation or
// the configured answer, with or without reasoning. cacheHit reports a
// repeated prompt_cache_key.
func (s *Sim) planTurn(req modelRequest, t *turn, cacheHit bool) {
	conv := readConversation(req.Input)
	t.reasoning = wantsReasoning(req.Reasoning)
	for _, inc := range req.Include {
		t.encrypted = t.encrypted || inc == "reasoning.encrypted_content"
	}
	if cacheHit || t.inputTokens >= longInputTokens {
		t.cachedTokens = t.inputTokens / 2
	}
	if code, ok := directiveArg(conv.lastUser, directiveFail); ok {
		if code == "" {
			code = "server_error"
		}
		t.failCode = strings.Fields(code)[0]
		return
	}
	if _, ok := directiveArg(conv.lastUser, directiveIncomplete); ok {
		t.incomplete = true
	}
	if conv.toolOutput != nil {
		out := *conv.toolOutput
		if len(out) > 200 {
			out = out[:200]
		}
		t.text = s.opts.Answer + " [tool output: " + out + "]"
		return
	}
	spec, ok := directiveArg(conv.lastUser, directiveCall)
	if !ok || conv.callAfterUser {
		return
	}
	name, args, _ := strings.Cut(spec, " ")
	args = strings.TrimSpace(args)
	var obj map[string]any
	switch {
	case !toolNames(req.Tools)[name]:
		t.text = "openaisim: unknown tool " + name + " (not a function in the request's tools)."
	case json.Unmarshal([]byte(args), &obj) != nil:
		t.text = "openaisim: the arguments of openaisim:call " + name + " are not a JSON object."
	default:
		t.call = &funcCall{itemID: "fc_" + randHex(24), callID: "call_" + randHex(12), name: name, args: args}
	}
}
