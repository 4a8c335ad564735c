package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// These tests drive /v1/chat/completions with the official openai-go SDK
// through the proxy to the strict simulator, so every request the front
// sends must pass the backend's rules (the simulator refuses temperature,
// max_output_tokens, … and requires instructions, store:false, stream:true).

func (h *simHarness) openai() openai.Client {
	return openai.NewClient(option.WithBaseURL(h.srv.URL+"/v1/"), option.WithAPIKey(testKey),
		option.WithHTTPClient(h.srv.Client()), option.WithMaxRetries(0))
}

func chatCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather of a city"),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]string{"type": "string"}},
		"required":   []string{"city"},
	},
})

// streamChat runs a streaming request and accumulates it as the SDK does.
func streamChat(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams) (openai.ChatCompletionAccumulator, []openai.ChatCompletionChunk, error) {
	t.Helper()
	s := c.Chat.Completions.NewStreaming(chatCtx(t), p)
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for s.Next() {
		ch := s.Current()
		chunks = append(chunks, ch)
		if !acc.AddChunk(ch) {
			t.Fatalf("the SDK's accumulator refused chunk %d: %s", len(chunks), ch.RawJSON())
		}
	}
	return acc, chunks, s.Err()
}

func usageMatches(t *testing.T, u openai.CompletionUsage, want openaisim.Usage) {
	t.Helper()
	if u.PromptTokens != int64(want.InputTokens) || u.CompletionTokens != int64(want.OutputTokens) ||
		u.TotalTokens != int64(want.InputTokens+want.OutputTokens) ||
		u.PromptTokensDetails.CachedTokens != int64(want.CachedTokens) ||
		u.CompletionTokensDetails.ReasoningTokens != int64(want.ReasoningTokens) {
		t.Errorf("usage %+v, upstream reported %+v", u, want)
	}
}

func TestProxy_Chat_Stream(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	c := h.openai()
	acc, chunks, err := streamChat(t, c, openai.ChatCompletionNewParams{
		Model:         "gpt-5.1-codex",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Say hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		// Dropped by the front: the simulator would refuse them.
		Temperature: openai.Float(0.2), TopP: openai.Float(0.9), MaxCompletionTokens: openai.Int(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != openaisim.DefaultAnswer || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("accumulated: %+v", acc.ChatCompletion)
	}
	if len(chunks) < 4 || chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Fatalf("first chunk: %s", chunks[0].RawJSON())
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || !last.JSON.Usage.Valid() {
		t.Fatalf("last chunk is not the usage chunk: %s", last.RawJSON())
	}
	st := h.sim.Stats()
	usageMatches(t, acc.Usage, st.LastUsage)
	if st.LastUsage.ReasoningTokens == 0 {
		t.Error("no reasoning tokens: the front did not ask for reasoning summaries")
	}
	// Reasoning summaries arrive as reasoning_content, beside the content.
	var reasoning strings.Builder
	for _, ch := range chunks {
		if len(ch.Choices) > 0 {
			var d struct {
				ReasoningContent string `json:"reasoning_content"`
			}
			json.Unmarshal([]byte(ch.Choices[0].Delta.RawJSON()), &d) //nolint:errcheck
			reasoning.WriteString(d.ReasoningContent)
		}
	}
	if reasoning.String() != openaisim.ReasoningSummary {
		t.Errorf("reasoning_content %q", reasoning.String())
	}

	t.Run("without include_usage no usage chunk", func(t *testing.T) {
		_, chunks, err := streamChat(t, c, openai.ChatCompletionNewParams{Model: "gpt-5.1-codex",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chunks {
			if ch.JSON.Usage.Valid() || len(ch.Choices) == 0 {
				t.Fatalf("unrequested usage chunk: %s", ch.RawJSON())
			}
		}
	})
}

func TestProxy_Chat_NonStreaming(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	long := strings.Repeat("A long shared prefix. ", 100) // the simulator reports half of a long input as cached
	c := h.openai()
	got, err := c.Chat.Completions.New(chatCtx(t), openai.ChatCompletionNewParams{
		Model:           "gpt-5.1-codex",
		Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)},
		ReasoningEffort: openai.ReasoningEffortHigh,
		User:            openai.String("user-1"),
		Seed:            openai.Int(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || len(got.Choices) != 1 || got.Choices[0].Message.Content != openaisim.DefaultAnswer ||
		got.Choices[0].FinishReason != "stop" || !strings.HasPrefix(got.ID, "chatcmpl-") || got.Model != "gpt-5.1-codex" {
		t.Fatalf("completion: %s", got.RawJSON())
	}
	st := h.sim.Stats()
	usageMatches(t, got.Usage, st.LastUsage)
	if got.Usage.PromptTokensDetails.CachedTokens == 0 || got.Usage.CompletionTokensDetails.ReasoningTokens == 0 {
		t.Errorf("usage details missing: %s", got.Usage.RawJSON())
	}
}

func TestProxy_Chat_ToolRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "non-streaming", true: "streaming"}[stream], func(t *testing.T) {
			h := newSimHarness(t, "acct-a")
			c := h.openai()
			p := openai.ChatCompletionNewParams{
				Model: "gpt-5.1-codex",
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.SystemMessage("Use the tools."),
					openai.UserMessage(`What is the weather? openaisim:call get_weather {"city":"Paris"}`),
				},
				Tools:             []openai.ChatCompletionToolUnionParam{weatherTool},
				ToolChoice:        openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
				ParallelToolCalls: openai.Bool(false),
			}
			ask := func() openai.ChatCompletion {
				t.Helper()
				if !stream {
					got, err := c.Chat.Completions.New(chatCtx(t), p)
					if err != nil {
						t.Fatal(err)
					}
					return *got
				}
				acc, _, err := streamChat(t, c, p)
				if err != nil {
					t.Fatal(err)
				}
				return acc.ChatCompletion
			}
			first := ask()
			msg := first.Choices[0].Message
			if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
				t.Fatalf("first turn: %s", first.RawJSON())
			}
			call := msg.ToolCalls[0]
			if call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(call.ID, "call_") {
				t.Fatalf("tool call: %+v", call)
			}
			// The client runs the tool and sends its result back.
			p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("18C and sunny", call.ID))
			second := ask()
			want := openaisim.DefaultAnswer + " [tool output: 18C and sunny]"
			if second.Choices[0].Message.Content != want || second.Choices[0].FinishReason != "stop" {
				t.Fatalf("second turn: %q (%s)", second.Choices[0].Message.Content, second.Choices[0].FinishReason)
			}
			if st := h.sim.Stats(); st.FunctionCalls != 1 || st.ResponsesComplete != 2 {
				t.Errorf("sim stats: %+v", st)
			}
		})
	}
}

func TestProxy_Chat_Errors(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	c := h.openai()
	user := func(text string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
	}
	apiErr := func(t *testing.T, err error, status int, code string) {
		t.Helper()
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != status || oe.Code != code || oe.Message == "" {
			t.Fatalf("got %T %v, want *openai.Error %d %s", err, err, status, code)
		}
	}

	t.Run("upstream failure, non-streaming", func(t *testing.T) {
		_, err := c.Chat.Completions.New(chatCtx(t), user("openaisim:fail server_is_overloaded"))
		apiErr(t, err, http.StatusBadGateway, "server_is_overloaded")
	})
	t.Run("upstream failure, streaming", func(t *testing.T) {
		_, chunks, err := streamChat(t, c, user("openaisim:fail server_is_overloaded"))
		var se *ssestream.StreamError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "server_is_overloaded") || len(chunks) != 1 {
			t.Fatalf("got %T %v after %d chunks, want a StreamError", err, err, len(chunks))
		}
	})
	t.Run("refused parameter", func(t *testing.T) {
		p := user("hi")
		p.N = openai.Int(2)
		_, err := c.Chat.Completions.New(chatCtx(t), p)
		apiErr(t, err, http.StatusBadRequest, "unsupported_value")
		if h.sim.Stats().ResponsesRequests > 2 {
			t.Error("a refused request went upstream")
		}
	})
	t.Run("upstream refusal keeps its status and message", func(t *testing.T) {
		h.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", Status: 400, Count: 1,
			Body: `{"detail":"Unsupported parameter: foo"}`})
		_, err := c.Chat.Completions.New(chatCtx(t), user("hi"))
		apiErr(t, err, http.StatusBadRequest, "upstream_error")
		var oe *openai.Error
		if errors.As(err, &oe) && oe.Message != "Unsupported parameter: foo" {
			t.Errorf("message %q", oe.Message)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		bad := openai.NewClient(option.WithBaseURL(h.srv.URL+"/v1/"), option.WithAPIKey("nope"), option.WithMaxRetries(0))
		_, err := bad.Chat.Completions.New(chatCtx(t), user("hi"))
		apiErr(t, err, http.StatusUnauthorized, "invalid_api_key")
	})
	t.Run("truncated answer ends with length", func(t *testing.T) {
		got, err := c.Chat.Completions.New(chatCtx(t), user("openaisim:incomplete"))
		if err != nil || got.Choices[0].FinishReason != "length" || got.Choices[0].Message.Content == "" {
			t.Fatalf("%v %s", err, got.RawJSON())
		}
		acc, _, err := streamChat(t, c, user("openaisim:incomplete"))
		if err != nil || acc.Choices[0].FinishReason != "length" {
			t.Fatalf("%v %+v", err, acc.ChatCompletion)
		}
	})
	t.Run("stream cut mid-answer", func(t *testing.T) {
		h.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", StreamCutAfterEvents: 5, Count: 1})
		_, chunks, err := streamChat(t, c, user("hi"))
		var se *ssestream.StreamError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "upstream_stream_error") || len(chunks) == 0 {
			t.Fatalf("got %v after %d chunks", err, len(chunks))
		}
	})
	t.Run("stream cut mid-answer, non-streaming", func(t *testing.T) {
		h.sim.InjectFault(openaisim.Fault{Path: "/backend-api/codex/responses", StreamCutAfterEvents: 5, Count: 1})
		_, err := c.Chat.Completions.New(chatCtx(t), user("hi"))
		apiErr(t, err, http.StatusBadGateway, "upstream_stream_error")
	})
	t.Run("every account at its usage limit", func(t *testing.T) {
		h.sim.SetUsageLimit("acct-a", time.Now().Add(time.Hour))
		_, err := c.Chat.Completions.New(chatCtx(t), user("hi"))
		apiErr(t, err, http.StatusTooManyRequests, "usage_limit_reached")
	})
}

// The chat route shares the Responses route's account handling.
func TestProxy_Chat_RefreshAndFailover(t *testing.T) {
	h := newSimHarness(t, "acct-a", "acct-b")
	c := h.openai()
	p := openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		PromptCacheKey: openai.String("conv-1")}
	if _, err := c.Chat.Completions.New(chatCtx(t), p); err != nil {
		t.Fatal(err)
	}
	var first string
	for id, a := range h.sim.Stats().Accounts {
		if a.ResponsesOK == 1 {
			first = id
		}
	}
	other := map[string]string{"acct-a": "acct-b", "acct-b": "acct-a"}[first]

	h.sim.ResetStats()
	h.sim.ExpireAccessTokens(first)
	if _, err := c.Chat.Completions.New(chatCtx(t), p); err != nil {
		t.Fatal(err)
	}
	st := h.sim.Stats()
	if st.Refreshes != 1 || st.Unauthorized != 1 || st.Accounts[first].ResponsesOK != 1 {
		t.Errorf("after expiry: %+v (want one refresh and a replay on %s, the prompt_cache_key's account)", st, first)
	}

	h.sim.ResetStats()
	h.sim.SetUsageLimit(first, time.Now().Add(time.Hour))
	acc, _, err := streamChat(t, c, p)
	if err != nil || acc.Choices[0].Message.Content != openaisim.DefaultAnswer {
		t.Fatalf("%v %+v", err, acc.ChatCompletion)
	}
	if st := h.sim.Stats(); st.Accounts[first].UsageLimited != 1 || st.Accounts[other].ResponsesOK != 1 {
		t.Errorf("failover: %+v", st.Accounts)
	}
}

func TestProxy_Models_OpenAIListAndCodexFields(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	c := h.openai()
	page, err := c.Models.List(chatCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		if m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("model %s", m.RawJSON())
		}
		ids = append(ids, m.ID)
	}
	// The backend's models, then each one's effort-suffixed names (the
	// efforts it supports).
	if strings.Join(ids, ",") != "gpt-5.1-codex,gpt-5-codex,gpt-5.1-codex-mini,"+
		"gpt-5.1-codex-low,gpt-5.1-codex-medium,gpt-5.1-codex-high,gpt-5-codex-low,gpt-5-codex-medium,gpt-5-codex-high,"+
		"gpt-5.1-codex-mini-low,gpt-5.1-codex-mini-medium,gpt-5.1-codex-mini-high" {
		t.Errorf("ids %v", ids)
	}
	// The same document still carries the Codex CLI's fields.
	req, _ := http.NewRequest("GET", h.srv.URL+"/v1/models?client_version=0.169.0", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		Object string
		Models []struct {
			Slug                     string          `json:"slug"`
			SupportedReasoningLevels json.RawMessage `json:"supported_reasoning_levels"`
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Object != "list" || len(doc.Models) != 3 || doc.Models[0].Slug != "gpt-5.1-codex" ||
		len(doc.Models[0].SupportedReasoningLevels) < 10 || resp.Header.Get("Etag") == "" {
		t.Fatalf("%d %s %v", resp.StatusCode, b, resp.Header)
	}
}

// BenchmarkProxy_Routes sends the same simulated turn through /v1/responses
// and through the Chat Completions front (client, proxy and simulator in
// this process, over loopback). The difference between the two cpu-ns/op
// is the front's translation; the simulator's work is the same in both.
func BenchmarkProxy_Routes(b *testing.B) {
	h := newSimHarness(b, "acct-a")
	for _, tc := range []struct{ name, path, body, end string }{
		{"responses", "/v1/responses", simBody, "response.completed"},
		{"chat", "/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"system","content":"You are Codex."},{"role":"user","content":"hi"}],"stream":true,"reasoning_effort":"minimal"}`, "data: [DONE]"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0) //nolint:errcheck
			for b.Loop() {
				resp, body := h.post(tc.path, tc.body, nil)
				if resp.StatusCode != 200 || !strings.Contains(body, tc.end) {
					b.Fatalf("%d %s", resp.StatusCode, body)
				}
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1) //nolint:errcheck
			cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
