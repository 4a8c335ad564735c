package chat

import (
	"encoding/json"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// The part of the Responses streaming events the converter reads. Event
// names (the SSE "event:" field, repeated as "type" in the data) select
// which fields matter. Events are skimmed with shared/jsonscan: upEvent
// (per-item events) leaves out an item's content and upResponse the
// response's output, which are only skipped over; the rare event that needs
// them is decoded whole (upItemFull, upOutput).
type upEvent struct {
	ItemID    string
	Arguments string
	Item      *upItem
}

type upItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"` // message, function_call, reasoning, ...
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// upItemFull is an output item with its content.
type upItemFull struct {
	upItem
	Content []struct {
		Type    string `json:"type"` // output_text, refusal
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	} `json:"content"`
	Summary []struct {
		Text string `json:"text"`
	} `json:"summary"`
}

type upResponse struct {
	ID                string  `json:"id"`
	CreatedAt         float64 `json:"created_at"`
	Model             string  `json:"model"`
	Usage             *responses.Usage
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

// upOutput is the final output of a completed response.
type upOutput struct {
	Response struct {
		Output []upItemFull `json:"output"`
	} `json:"response"`
}

// Usage is the Chat Completions usage object.
type Usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func chatUsage(u *responses.Usage) *Usage {
	if u == nil {
		return nil
	}
	out := &Usage{PromptTokens: int(u.InputTokens), CompletionTokens: int(u.OutputTokens), TotalTokens: int(u.TotalTokens)}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	out.PromptTokensDetails.CachedTokens = int(u.CachedTokens)
	out.CompletionTokensDetails.ReasoningTokens = int(u.ReasoningTokens)
	return out
}

// The Chat Completions output documents (streamed chunks: chunks.go).
type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   Usage              `json:"usage"`
}

type completionChoice struct {
	Index        int             `json:"index"`
	Message      outMessage      `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type outMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
}

// errorDoc is OpenAI's error document.
type errorDoc struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}
