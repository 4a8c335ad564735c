package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// TestServe_Chat_OpenAIGo is issue 15's done-when with openai-go as the
// client: streaming with usage, non-streaming, a tool round trip, the model
// list and an upstream error, through `codexgate serve`, moto and the
// simulator; then the same after the access token expired (one refresh).
func TestServe_Chat_OpenAIGo(t *testing.T) {
	s, srv, key, tok := serveOneAccount(t, "chat", "chat-sdk")
	c := openai.NewClient(option.WithBaseURL(srv.base+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user := func(text string) []openai.ChatCompletionMessageParamUnion {
		return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: user("hi"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != openaisim.DefaultAnswer ||
		acc.Usage.TotalTokens != int64(s.sim.Stats().LastUsage.InputTokens+s.sim.Stats().LastUsage.OutputTokens) {
		t.Fatalf("stream: %v %+v", err, acc.ChatCompletion)
	}

	p := openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: user(`openaisim:call get_weather {"city":"Oslo"}`),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_weather", Parameters: openai.FunctionParameters{"type": "object"}})}}
	first, err := c.Chat.Completions.New(ctx, p)
	if err != nil || first.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool call: %v %s", err, first.RawJSON())
	}
	msg := first.Choices[0].Message
	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("cold", msg.ToolCalls[0].ID))
	second, err := c.Chat.Completions.New(ctx, p)
	if err != nil || second.Choices[0].Message.Content != openaisim.DefaultAnswer+" [tool output: cold]" {
		t.Fatalf("tool result: %v %s", err, second.RawJSON())
	}

	page, err := c.Models.List(ctx)
	if err != nil || len(page.Data) == 0 || page.Data[0].ID != "gpt-5.1-codex" {
		t.Fatalf("models: %v %+v", err, page)
	}

	_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: user("openaisim:fail server_is_overloaded")})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 502 || oe.Code != "server_is_overloaded" {
		t.Fatalf("upstream failure: %T %v", err, err)
	}

	// 401 → forced refresh through the shared refresher → replay.
	if err := s.sim.ExpireAccessTokens(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	s.sim.ResetStats()
	got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-5.1-codex", Messages: user("hi again")})
	if err != nil || got.Choices[0].Message.Content != openaisim.DefaultAnswer {
		t.Fatalf("after expiry: %v", err)
	}
	if st := s.sim.Stats(); st.Refreshes != 1 || st.Unauthorized != 1 || st.ReuseRejections != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
	srv.stop(t)
}

// TestServe_Chat_NodeSDK runs testdata/openai-node-chat.cjs, the OpenAI Node
// SDK used as an application would, against `codexgate serve`.
func TestServe_Chat_NodeSDK(t *testing.T) {
	node, modules := nodeModule(t, "openai", "openai")
	s, srv, key, _ := serveOneAccount(t, "chat", "chat-sdk")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := nodeScript(ctx, node, modules,
		append(os.Environ(), "CODEXGATE_BASE_URL="+srv.base+"/v1", "CODEXGATE_API_KEY="+key), "openai-node-chat.cjs")
	out := nodeOutput(t, srv, cmd)
	var r struct {
		Stream struct {
			Content, Finish, FirstRole string
			Usage                      *struct {
				PromptTokens        int `json:"prompt_tokens"`
				CompletionTokens    int `json:"completion_tokens"`
				PromptTokensDetails struct {
					CachedTokens *int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
				CompletionTokensDetails struct {
					ReasoningTokens int `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			}
		}
		NonStream struct{ Object, Content, Finish string }
		Tool      struct {
			Finish, Answer, AnswerFinish string
			Call                         struct{ ID, Name, Arguments string }
		}
		Models                                    []string
		ErrorNonStream, ErrorStream, ErrorRefused struct {
			Thrown, IsAPIError bool
			Status             *int
			Code               *string
			Message            string
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("script output %q: %v", out, err)
	}
	st := s.sim.Stats()
	switch {
	case r.Stream.Content != openaisim.DefaultAnswer || r.Stream.Finish != "stop" || r.Stream.FirstRole != "assistant":
		t.Errorf("stream: %+v", r.Stream)
	case r.Stream.Usage == nil || r.Stream.Usage.CompletionTokensDetails.ReasoningTokens == 0 || r.Stream.Usage.PromptTokensDetails.CachedTokens == nil:
		t.Errorf("stream usage: %+v", r.Stream.Usage)
	case r.NonStream.Object != "chat.completion" || r.NonStream.Content != openaisim.DefaultAnswer || r.NonStream.Finish != "stop":
		t.Errorf("non-stream: %+v", r.NonStream)
	case r.Tool.Finish != "tool_calls" || r.Tool.Call.Name != "get_weather" || r.Tool.Call.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(r.Tool.Call.ID, "call_"):
		t.Errorf("tool call: %+v", r.Tool)
	case r.Tool.Answer != openaisim.DefaultAnswer+" [tool output: Sunny, Paris]" || r.Tool.AnswerFinish != "stop":
		t.Errorf("tool answer: %+v", r.Tool)
	case strings.Join(r.Models[:min(3, len(r.Models))], ",") != "gpt-5.1-codex,gpt-5-codex,gpt-5.1-codex-mini" || !slices.Contains(r.Models, "gpt-5-codex-high"):
		// The backend's models first, then their effort-suffixed names.
		t.Errorf("models: %v", r.Models)
	case !r.ErrorNonStream.IsAPIError || r.ErrorNonStream.Status == nil || *r.ErrorNonStream.Status != 502 || *r.ErrorNonStream.Code != "server_is_overloaded":
		t.Errorf("upstream error, non-streaming: %+v", r.ErrorNonStream)
	case !r.ErrorStream.IsAPIError || !strings.Contains(r.ErrorStream.Message, "simulated server_is_overloaded"):
		t.Errorf("upstream error, streaming: %+v", r.ErrorStream)
	case !r.ErrorRefused.IsAPIError || *r.ErrorRefused.Status != 400 || *r.ErrorRefused.Code != "unsupported_value":
		t.Errorf("refused: %+v", r.ErrorRefused)
	case st.FunctionCalls != 1 || st.ResponsesFailed != 2 || st.BadRequests != 0:
		t.Errorf("simulator saw: %+v", st)
	}
	srv.stop(t)
}
