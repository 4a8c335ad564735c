package chat

import (
	"encoding/json"
	"testing"
)

// The chunk documents as encoding/json would write them: the reference the
// templates of chunks.go must match byte for byte.
type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int             `json:"index"`
	Delta        delta           `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"` // always null
	FinishReason *string         `json:"finish_reason"`
}

type delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	Refusal          string          `json:"refusal,omitempty"`
	ToolCalls        []toolCallDelta `json:"tool_calls,omitempty"`
}

type toolCallDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function functionDelta `json:"function"`
}

type functionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

func TestConverter_ChunksMatchEncodingJSON(t *testing.T) {
	c := &Converter{stream: true, id: "chatcmpl-<&>\"x", model: "m\u2028\xff", created: 1772366400, finish: FinishToolCalls,
		usage: &Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}}
	marshal := func(ch chunk) string {
		b, err := json.Marshal(ch)
		if err != nil {
			t.Fatal(err)
		}
		return "data: " + string(b) + "\n\n"
	}
	null := func(s string) *string { return &s }
	head := chunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: c.model}
	with := func(d delta, finish *string) chunk {
		ch := head
		ch.Choices = []chunkChoice{{Delta: d, FinishReason: finish}}
		return ch
	}
	cl := &call{index: 2, id: "call_<1>", name: "get\tweather"}
	for _, s := range []string{"", "plain", "quote \" and \\", "<b>&</b>", "\x00\n\u2029", "bad \xff utf8", "日本語"} {
		for _, tc := range []struct {
			name      string
			got, want string
		}{
			{"content", string(c.deltaChunk(nil, `{"content":`, s, `}`)), marshal(with(delta{Content: &s}, nil))},
			{"role", string(c.deltaChunk(nil, `{"role":"assistant","content":`, "", `}`)), marshal(with(delta{Role: "assistant", Content: null("")}, nil))},
			{"reasoning", string(c.deltaChunk(nil, `{"reasoning_content":`, s, `}`)), marshal(with(delta{ReasoningContent: s}, nil))},
			{"refusal", string(c.deltaChunk(nil, `{"refusal":`, s, `}`)), marshal(with(delta{Refusal: s}, nil))},
			{"args", string(c.argsChunk(nil, cl, s)), marshal(with(delta{ToolCalls: []toolCallDelta{{Index: 2, Function: functionDelta{Arguments: s}}}}, nil))},
			{"call", string(c.callChunk(nil, cl)), marshal(with(delta{ToolCalls: []toolCallDelta{{Index: 2, ID: cl.id, Type: "function", Function: functionDelta{Name: cl.name}}}}, nil))},
			{"finish", string(c.finishChunk(nil)), marshal(with(delta{}, null(FinishToolCalls)))},
			{"usage", string(c.usageChunk(nil)), marshal(chunk{ID: c.id, Object: head.Object, Created: c.created, Model: c.model, Choices: []chunkChoice{}, Usage: c.usage})},
		} {
			if s == "" && (tc.name == "reasoning" || tc.name == "refusal") {
				continue // the template keeps an empty field that omitempty drops; both are valid
			}
			if tc.got != tc.want {
				t.Errorf("%s %q:\n got %s\nwant %s", tc.name, s, tc.got, tc.want)
			}
		}
	}
}
