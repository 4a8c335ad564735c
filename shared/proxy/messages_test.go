package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/sse"
)

// anthropicAnswer is what a client makes of a Messages SSE stream.
type anthropicAnswer struct {
	events     []string // event names in order
	text       string
	thinking   string
	tools      []toolUse
	stopReason string
	usage      map[string]int
	errType    string
	messageID  string
}

type toolUse struct {
	ID, Name string
	Input    map[string]any
}

// readMessagesStream parses an Anthropic event stream strictly: every data
// line is JSON whose type matches the event name.
func readMessagesStream(t *testing.T, body string) anthropicAnswer {
	t.Helper()
	var a anthropicAnswer
	partial := ""
	for _, raw := range strings.SplitAfter(body, "\n\n") {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		ev := sse.Parse([]byte(raw))
		var d struct {
			Type    string
			Message struct{ ID string }
			Index   int
			Content struct {
				Type, ID, Name string
			} `json:"content_block"`
			Delta struct {
				Type, Text, Thinking string
				PartialJSON          string `json:"partial_json"`
				StopReason           string `json:"stop_reason"`
			}
			Usage map[string]int
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Type != string(sse.Name([]byte(raw))) {
			t.Fatalf("bad event %q: %v", raw, err)
		}
		a.events = append(a.events, d.Type)
		switch d.Type {
		case "message_start":
			a.messageID = d.Message.ID
		case "content_block_start":
			if d.Content.Type == "tool_use" {
				a.tools = append(a.tools, toolUse{ID: d.Content.ID, Name: d.Content.Name})
				partial = ""
			}
		case "content_block_delta":
			a.text += d.Delta.Text
			a.thinking += d.Delta.Thinking
			partial += d.Delta.PartialJSON
		case "content_block_stop":
			if n := len(a.tools); n > 0 && partial != "" {
				if err := json.Unmarshal([]byte(partial), &a.tools[n-1].Input); err != nil {
					t.Fatalf("tool input %q: %v", partial, err)
				}
				partial = ""
			}
		case "message_delta":
			a.stopReason, a.usage = d.Delta.StopReason, d.Usage
		case "error":
			a.errType = d.Error.Type
		}
	}
	return a
}

func messagesBody(stream bool, extra string, msgs ...string) string {
	if len(msgs) == 0 {
		msgs = []string{`{"role":"user","content":"Say hi"}`}
	}
	return fmt.Sprintf(`{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":%v,"system":[{"type":"text","text":"You are Claude Code."}]%s,"messages":[%s]}`,
		stream, extra, strings.Join(msgs, ","))
}

const bashTool = `,"tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}]`

// anthropicError decodes {"type":"error","error":{"type","message"}} strictly.
func anthropicError(t *testing.T, body string) (typ, msg string) {
	t.Helper()
	var doc struct {
		Type  string
		Error *struct{ Type, Message string }
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Type != "error" || doc.Error == nil || doc.Error.Type == "" || doc.Error.Message == "" {
		t.Fatalf("not an Anthropic error document: %s", body)
	}
	return doc.Error.Type, doc.Error.Message
}

func TestProxy_Messages_Simulator(t *testing.T) {
	h := newSimHarness(t, "acct-a", "acct-b")

	t.Run("stream", func(t *testing.T) {
		h.sim.ResetStats()
		resp, body := h.post("/v1/messages?beta=true", messagesBody(true, ""), http.Header{"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"claude-code-20250219,some-future-beta"}})
		a := readMessagesStream(t, body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
		}
		want := []string{"message_start", "content_block_start"}
		if len(a.events) < 6 || a.events[0] != want[0] || a.events[1] != want[1] || a.events[len(a.events)-1] != "message_stop" {
			t.Errorf("events = %v", a.events)
		}
		if a.text != openaisim.DefaultAnswer || a.stopReason != "end_turn" {
			t.Errorf("text %q stop %q", a.text, a.stopReason)
		}
		u := h.sim.Stats().LastUsage
		if a.usage["input_tokens"] != u.InputTokens-u.CachedTokens || a.usage["cache_read_input_tokens"] != u.CachedTokens || a.usage["output_tokens"] != u.OutputTokens {
			t.Errorf("usage %v, simulator counted %+v", a.usage, u)
		}
		if n := h.sim.Stats().BadRequests; n != 0 {
			t.Errorf("the simulator refused %d translated requests", n)
		}
	})

	t.Run("non-streaming message", func(t *testing.T) {
		resp, body := h.post("/v1/messages", messagesBody(false, ""), nil)
		var m struct {
			ID, Type, Role, Model string
			StopReason            string `json:"stop_reason"`
			Content               []struct{ Type, Text string }
			Usage                 map[string]int
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d: %s", resp.StatusCode, body)
		}
		if m.Type != "message" || m.Role != "assistant" || m.Model != "claude-sonnet-4-5-20250929" || m.StopReason != "end_turn" ||
			len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != openaisim.DefaultAnswer || m.Usage["output_tokens"] == 0 {
			t.Errorf("message = %+v", m)
		}
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content-type %q", resp.Header.Get("Content-Type"))
		}
	})

	t.Run("tool use round trip", func(t *testing.T) {
		prompt := `{"role":"user","content":[{"type":"text","text":"run it\nopenaisim:call Bash {\"command\":\"echo hi\"}"}]}`
		resp, body := h.post("/v1/messages", messagesBody(true, bashTool, prompt), nil)
		a := readMessagesStream(t, body)
		if resp.StatusCode != 200 || len(a.tools) != 1 || a.tools[0].Name != "Bash" || a.tools[0].Input["command"] != "echo hi" || a.stopReason != "tool_use" {
			t.Fatalf("%d %+v\n%s", resp.StatusCode, a, body)
		}
		id := a.tools[0].ID
		assistant := fmt.Sprintf(`{"role":"assistant","content":[{"type":"tool_use","id":%q,"name":"Bash","input":{"command":"echo hi"}}]}`, id)
		result := fmt.Sprintf(`{"role":"user","content":[{"type":"tool_result","tool_use_id":%q,"content":"hi from bash"}]}`, id)
		resp, body = h.post("/v1/messages", messagesBody(true, bashTool, prompt, assistant, result), nil)
		a = readMessagesStream(t, body)
		if resp.StatusCode != 200 || a.stopReason != "end_turn" || !strings.Contains(a.text, "[tool output: hi from bash]") {
			t.Fatalf("%d %+v\n%s", resp.StatusCode, a, body)
		}
	})

	t.Run("thinking from the reasoning summary", func(t *testing.T) {
		resp, body := h.post("/v1/messages", messagesBody(true, `,"thinking":{"type":"enabled","budget_tokens":8000}`), nil)
		a := readMessagesStream(t, body)
		if resp.StatusCode != 200 || a.thinking != openaisim.ReasoningSummary || a.text != openaisim.DefaultAnswer {
			t.Fatalf("%d %+v", resp.StatusCode, a)
		}
		// Without thinking, no thinking block even if the backend reasons.
		_, body = h.post("/v1/messages", messagesBody(true, ""), nil)
		if a := readMessagesStream(t, body); a.thinking != "" {
			t.Errorf("thinking without asking: %q", a.thinking)
		}
	})

	t.Run("stop sequence", func(t *testing.T) {
		_, body := h.post("/v1/messages", messagesBody(true, `,"stop_sequences":["codexgate"]`), nil)
		a := readMessagesStream(t, body)
		if a.text != "Hello from the " || a.stopReason != "stop_sequence" || a.events[len(a.events)-1] != "message_stop" {
			t.Errorf("%+v", a)
		}
		_, body = h.post("/v1/messages", messagesBody(false, `,"stop_sequences":["codexgate"]`), nil)
		if !strings.Contains(body, `"stop_sequence":"codexgate"`) || !strings.Contains(body, `"text":"Hello from the "`) {
			t.Errorf("non-stream: %s", body)
		}
	})

	t.Run("structured output reaches the backend", func(t *testing.T) {
		h.sim.ResetStats()
		resp, body := h.post("/v1/messages", messagesBody(false, `,"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}`), nil)
		if resp.StatusCode != 200 || h.sim.Stats().BadRequests != 0 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})

	t.Run("incomplete is max_tokens", func(t *testing.T) {
		_, body := h.post("/v1/messages", messagesBody(true, "", `{"role":"user","content":"long story openaisim:incomplete"}`), nil)
		if a := readMessagesStream(t, body); a.stopReason != "max_tokens" || a.text == "" {
			t.Errorf("%+v", a)
		}
	})

	t.Run("failed stream", func(t *testing.T) {
		fail := `{"role":"user","content":"openaisim:fail server_error"}`
		resp, body := h.post("/v1/messages", messagesBody(true, "", fail), nil)
		if a := readMessagesStream(t, body); resp.StatusCode != 200 || a.errType != "api_error" || a.events[len(a.events)-1] != "error" {
			t.Errorf("stream: %d %+v", resp.StatusCode, a)
		}
		resp, body = h.post("/v1/messages", messagesBody(false, "", fail), nil)
		if typ, _ := anthropicError(t, body); resp.StatusCode != 502 || typ != "api_error" {
			t.Errorf("non-stream: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("expired access token: one refresh, one replay", func(t *testing.T) {
		h.sim.ResetStats()
		h.sim.ExpireAccessTokens("acct-a")
		h.sim.ExpireAccessTokens("acct-b")
		resp, body := h.post("/v1/messages", messagesBody(true, ""), nil)
		if a := readMessagesStream(t, body); resp.StatusCode != 200 || a.text != openaisim.DefaultAnswer {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if st := h.sim.Stats(); st.Refreshes != 1 || st.Unauthorized != 1 || st.ReuseRejections != 0 || st.ResponsesComplete != 1 {
			t.Errorf("stats = %+v", st)
		}
	})

	t.Run("count_tokens", func(t *testing.T) {
		h.sim.ResetStats()
		resp, body := h.post("/v1/messages/count_tokens", `{"model":"claude-opus-5-5"`+bashTool+`,"messages":[{"role":"user","content":"hi"}]}`, nil)
		var c struct {
			InputTokens int `json:"input_tokens"`
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil || resp.StatusCode != 200 || c.InputTokens < 10 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if n := h.sim.Stats().ResponsesRequests; n != 0 {
			t.Errorf("count_tokens went upstream %d times", n)
		}
	})

	t.Run("usage limit on every account: 429 rate_limit_error with retry-after", func(t *testing.T) {
		until := time.Now().Add(time.Hour)
		h.sim.SetUsageLimit("acct-a", until)
		h.sim.SetUsageLimit("acct-b", until)
		resp, body := h.post("/v1/messages", messagesBody(true, ""), nil)
		typ, _ := anthropicError(t, body)
		if resp.StatusCode != 429 || typ != "rate_limit_error" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		// The cooldowns hold now: no account can serve at all.
		resp, body = h.post("/v1/messages", messagesBody(true, ""), nil)
		if typ, _ := anthropicError(t, body); resp.StatusCode != 429 && !(resp.StatusCode == 529 && typ == "overloaded_error") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestProxy_Messages_Errors(t *testing.T) {
	h := newHarness(t, []string{"acct-a"})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     http.Header
		wantStatus int
		wantType   string
	}{
		{"missing key", "POST", "/v1/messages", messagesBody(true, ""), http.Header{"Authorization": nil}, 401, "authentication_error"},
		{"wrong x-api-key", "POST", "/v1/messages?beta=true", messagesBody(true, ""), http.Header{"Authorization": nil, "X-Api-Key": {"nope"}}, 401, "authentication_error"},
		{"GET", "GET", "/v1/messages", "", nil, 405, "invalid_request_error"},
		{"not JSON", "POST", "/v1/messages", "{", nil, 400, "invalid_request_error"},
		{"no max_tokens", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}`, nil, 400, "invalid_request_error"},
		{"server tool refused", "POST", "/v1/messages/count_tokens", `{"model":"claude-sonnet-4-5","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"x"}]}`, nil, 400, "invalid_request_error"},
		{"too large", "POST", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"` + strings.Repeat("x", 17<<20) + `"}]}`, nil, 413, "request_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := read(t, h.do(tc.method, tc.path, tc.body, tc.header))
			typ, _ := anthropicError(t, body)
			if status != tc.wantStatus || typ != tc.wantType {
				t.Errorf("%d %s, want %d %s", status, body, tc.wantStatus, tc.wantType)
			}
		})
	}
	if n := len(h.up.requests()); n != 0 {
		t.Errorf("%d requests went upstream", n)
	}

	t.Run("no account can serve: 529 overloaded_error", func(t *testing.T) {
		h.up.handle = func(w http.ResponseWriter, r *http.Request, _ upstreamRecord) {
			writeJSONStatus(w, 500, `{"error":{"message":"boom","type":"server_error"}}`)
		}
		status, body := read(t, h.do("POST", "/v1/messages", messagesBody(false, ""), nil))
		if typ, _ := anthropicError(t, body); status != 529 || typ != "overloaded_error" {
			t.Errorf("%d %s", status, body)
		}
	})

	t.Run("upstream 400 keeps its message", func(t *testing.T) {
		h.up.handle = func(w http.ResponseWriter, r *http.Request, _ upstreamRecord) {
			writeJSONStatus(w, 400, `{"detail":"Unsupported parameter: foo"}`)
		}
		status, body := read(t, h.do("POST", "/v1/messages", messagesBody(true, ""), nil))
		typ, msg := anthropicError(t, body)
		if status != 400 || typ != "invalid_request_error" || msg != "Unsupported parameter: foo" {
			t.Errorf("%d %s", status, body)
		}
	})
}

// TestProxy_Messages_Ping: a stream silent for longer than the ping
// interval gets ping events between the backend's events.
func TestProxy_Messages_Ping(t *testing.T) {
	h := newHarness(t, []string{"acct-a"})
	h.proxy.pingEvery = 50 * time.Millisecond
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		evs := completedEvents(rec.Account)
		io.WriteString(w, evs[0])
		w.(http.Flusher).Flush()
		time.Sleep(400 * time.Millisecond) // silence: the model is thinking
		for _, ev := range evs[1:] {
			io.WriteString(w, ev)
		}
	}
	status, body := read(t, h.do("POST", "/v1/messages", messagesBody(true, ""), nil))
	a := readMessagesStream(t, body)
	pings := strings.Count(body, "event: ping\n")
	if status != 200 || pings == 0 || a.text != "hello" || a.events[0] != "message_start" || a.events[len(a.events)-1] != "message_stop" {
		t.Errorf("%d, %d pings: %s", status, pings, body)
	}
}
