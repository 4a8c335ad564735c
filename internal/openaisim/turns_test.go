package openaisim

import (
	"encoding/json"
	"strings"
	"testing"
)

// userMsg is a Responses input message item of role user.
func userMsg(text string) map[string]any {
	return map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_text", "text": text}}}
}

func fnTool(name string) map[string]any {
	return map[string]any{"type": "function", "name": name, "parameters": map[string]any{"type": "object"}}
}

// turnBody is validBody with the given input items and extra fields.
func turnBody(input []any, extra map[string]any) map[string]any {
	b := validBody()
	b["input"] = input
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// streamTurn posts body to /responses and returns the parsed events.
func streamTurn(t *testing.T, f *fixture, tok Tokens, body map[string]any) []struct {
	name string
	data map[string]any
} {
	t.Helper()
	r := do(t, f.backendReq(t, "POST", "/backend-api/codex/responses", tok, body))
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	evs := sseEvents(t, r.raw)
	for i, ev := range evs {
		if ev.data["type"] != ev.name || ev.data["sequence_number"] != float64(i) {
			t.Fatalf("event %d %s: type %v seq %v", i, ev.name, ev.data["type"], ev.data["sequence_number"])
		}
	}
	return evs
}

func names(evs []struct {
	name string
	data map[string]any
}) string {
	var out []string
	for _, ev := range evs {
		out = append(out, strings.TrimPrefix(ev.name, "response."))
	}
	return strings.Join(out, ",")
}

func TestSim_Responses_ScriptedCall(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	body := turnBody([]any{userMsg(`run it: openaisim:call Bash {"command":"echo hi"}` + "\nthanks")},
		map[string]any{"tools": []any{fnTool("Read"), fnTool("Bash")}})
	evs := streamTurn(t, f, tok, body)
	want := "created,in_progress,output_item.added," + strings.Repeat("function_call_arguments.delta,", 3) +
		"function_call_arguments.done,output_item.done,completed"
	if got := names(evs); got != want {
		t.Fatalf("events:\n%s\nwant\n%s", got, want)
	}
	added := evs[2].data["item"].(map[string]any)
	if added["type"] != "function_call" || added["name"] != "Bash" || added["arguments"] != "" || added["status"] != "in_progress" ||
		!strings.HasPrefix(added["id"].(string), "fc_") || !strings.HasPrefix(added["call_id"].(string), "call_") {
		t.Fatalf("added item: %v", added)
	}
	var args string
	for _, ev := range evs[3:6] {
		if ev.data["item_id"] != added["id"] || ev.data["output_index"] != float64(0) {
			t.Fatalf("delta location: %v", ev.data)
		}
		args += ev.data["delta"].(string)
	}
	if args != `{"command":"echo hi"}` || evs[6].data["arguments"] != args {
		t.Fatalf("arguments: deltas %q, done %v", args, evs[6].data["arguments"])
	}
	done := evs[7].data["item"].(map[string]any)
	if done["status"] != "completed" || done["arguments"] != args || done["call_id"] != added["call_id"] {
		t.Fatalf("done item: %v", done)
	}
	resp := evs[8].data["response"].(map[string]any)
	out := resp["output"].([]any)
	if len(out) != 1 || out[0].(map[string]any)["call_id"] != added["call_id"] {
		t.Fatalf("completed output: %v", out)
	}
	if st := f.sim.Stats(); st.FunctionCalls != 1 || st.ResponsesComplete != 1 {
		t.Fatalf("stats: %+v", st)
	}

	// The client runs the tool and sends the result: the answer quotes it.
	callItem := map[string]any{"type": "function_call", "call_id": added["call_id"], "name": "Bash", "arguments": args}
	result := map[string]any{"type": "function_call_output", "call_id": added["call_id"], "output": "hi\n" + strings.Repeat("x", 300)}
	evs = streamTurn(t, f, tok, turnBody([]any{body["input"].([]any)[0], callItem, result}, map[string]any{"tools": body["tools"]}))
	text := evs[len(evs)-1].data["response"].(map[string]any)["output"].([]any)[0].(map[string]any)["content"].([]any)[0].(map[string]any)["text"]
	if wantText := DefaultAnswer + " [tool output: hi\n" + strings.Repeat("x", 197) + "]"; text != wantText {
		t.Fatalf("after the tool result: %q, want %q", text, wantText)
	}
}

func TestSim_Responses_ScriptedCallRefusals(t *testing.T) {
	call := userMsg(`openaisim:call Bash {"command":"ls"}`)
	for _, tc := range []struct {
		name  string
		input []any
		tools []any
		want  string // substring of the text answer
	}{
		{"tool not in the request", []any{call}, []any{fnTool("Read")}, "unknown tool Bash"},
		{"no tools", []any{call}, nil, "unknown tool Bash"},
		{"tool of another type", []any{call}, []any{map[string]any{"type": "custom", "name": "Bash"}}, "unknown tool Bash"},
		{"args not an object", []any{userMsg(`openaisim:call Bash [1,2]`)}, []any{fnTool("Bash")}, "not a JSON object"},
		{"an output already follows", []any{call, map[string]any{"type": "function_call_output", "call_id": "c", "output": "ok"},
			map[string]any{"type": "message", "role": "assistant", "content": []any{map[string]any{"type": "output_text", "text": "done"}}}},
			[]any{fnTool("Bash")}, DefaultAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.sim.AddAccount(Account{})
			extra := map[string]any{}
			if tc.tools != nil {
				extra["tools"] = tc.tools
			}
			evs := streamTurn(t, f, tok, turnBody(tc.input, extra))
			if strings.Contains(names(evs), "function_call") {
				t.Fatalf("answered a call: %s", names(evs))
			}
			text := evs[len(evs)-2].data["item"].(map[string]any)["content"].([]any)[0].(map[string]any)["text"].(string)
			if !strings.Contains(text, tc.want) {
				t.Fatalf("text %q lacks %q", text, tc.want)
			}
			if f.sim.Stats().FunctionCalls != 0 {
				t.Fatal("counted a function call")
			}
		})
	}
}

func TestSim_Responses_Reasoning(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reasoning any
		include   []string
		want      bool
	}{
		{"summary auto", map[string]any{"effort": "high", "summary": "auto"}, nil, true},
		{"summary detailed, effort default", map[string]any{"summary": "detailed"}, []string{"reasoning.encrypted_content"}, true},
		{"no summary", map[string]any{"effort": "high"}, nil, false},
		{"summary none", map[string]any{"effort": "high", "summary": "none"}, nil, false},
		{"effort minimal", map[string]any{"effort": "minimal", "summary": "auto"}, nil, false},
		{"effort none", map[string]any{"effort": "none", "summary": "auto"}, nil, false},
		{"no reasoning", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{Answer: "Two words."})
			tok := f.sim.AddAccount(Account{})
			extra := map[string]any{}
			if tc.reasoning != nil {
				extra["reasoning"] = tc.reasoning
			}
			if tc.include != nil {
				extra["include"] = tc.include
			}
			evs := streamTurn(t, f, tok, turnBody([]any{userMsg("hi")}, extra))
			msg := "output_item.added,content_part.added,output_text.delta,output_text.delta,output_text.done,content_part.done,output_item.done"
			want := "created,in_progress," + msg + ",completed"
			if tc.want {
				want = "created,in_progress,output_item.added,reasoning_summary_part.added," +
					strings.Repeat("reasoning_summary_text.delta,", len(strings.Fields(ReasoningSummary))) +
					"reasoning_summary_text.done,reasoning_summary_part.done,output_item.done," + msg + ",completed"
			}
			if got := names(evs); got != want {
				t.Fatalf("events:\n%s\nwant\n%s", got, want)
			}
			resp := evs[len(evs)-1].data["response"].(map[string]any)
			usage := resp["usage"].(map[string]any)
			reasoningTokens := usage["output_tokens_details"].(map[string]any)["reasoning_tokens"].(float64)
			if !tc.want {
				if reasoningTokens != 0 {
					t.Fatalf("reasoning tokens without reasoning: %v", usage)
				}
				return
			}
			var summary string
			for _, ev := range evs {
				if ev.name == "response.reasoning_summary_text.delta" {
					summary += ev.data["delta"].(string)
					if ev.data["output_index"] != float64(0) || ev.data["summary_index"] != float64(0) {
						t.Fatalf("delta location: %v", ev.data)
					}
				}
				if ev.name == "response.output_text.delta" && ev.data["output_index"] != float64(1) {
					t.Fatalf("message delta output_index: %v", ev.data)
				}
			}
			if summary != ReasoningSummary {
				t.Fatalf("summary deltas %q", summary)
			}
			out := resp["output"].([]any)
			rs := out[0].(map[string]any)
			_, hasEnc := rs["encrypted_content"]
			if len(out) != 2 || rs["type"] != "reasoning" || out[1].(map[string]any)["type"] != "message" || hasEnc != (tc.include != nil) {
				t.Fatalf("output: %v", out)
			}
			if reasoningTokens != float64(3*len(strings.Fields(ReasoningSummary))) || usage["output_tokens"].(float64) != reasoningTokens+3 {
				t.Fatalf("usage: %v", usage)
			}
		})
	}
}

func TestSim_Responses_Usage(t *testing.T) {
	f := newFixture(t, Options{Answer: "Three word answer."})
	tok := f.sim.AddAccount(Account{})
	usageOf := func(body map[string]any) map[string]any {
		evs := streamTurn(t, f, tok, body)
		return evs[len(evs)-1].data["response"].(map[string]any)["usage"].(map[string]any)
	}
	cached := func(u map[string]any) float64 {
		return u["input_tokens_details"].(map[string]any)["cached_tokens"].(float64)
	}
	short := turnBody([]any{userMsg("hi")}, nil)
	inBytes := len(mustJSON(t, short["input"]))
	u := usageOf(short)
	if u["input_tokens"] != float64(inBytes/4) || cached(u) != 0 || u["output_tokens"] != float64(4) || u["total_tokens"] != float64(inBytes/4+4) {
		t.Fatalf("short input usage: %v (input %d bytes)", u, inBytes)
	}
	long := turnBody([]any{userMsg(strings.Repeat("long prompt ", 200))}, nil)
	u = usageOf(long)
	if in := u["input_tokens"].(float64); in < 256 || cached(u) != float64(int(in)/2) {
		t.Fatalf("long input usage: %v", u)
	}
	keyed := turnBody([]any{userMsg("hi")}, map[string]any{"prompt_cache_key": "conv-1"})
	if u := usageOf(keyed); cached(u) != 0 {
		t.Fatalf("first use of a cache key: %v", u)
	}
	u = usageOf(keyed)
	if cached(u) != float64(int(u["input_tokens"].(float64))/2) {
		t.Fatalf("repeated cache key: %v", u)
	}
	st := f.sim.Stats()
	if st.ResponsesComplete != 4 || st.LastUsage.InputTokens != int(u["input_tokens"].(float64)) || st.LastUsage.CachedTokens != int(cached(u)) ||
		st.OutputTokens != 16 || st.InputTokens < 256 || st.CachedTokens < 128 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Responses_Fail(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	evs := streamTurn(t, f, tok, turnBody([]any{userMsg("please openaisim:fail server_is_overloaded now")}, nil))
	if got := names(evs); got != "created,in_progress,failed" {
		t.Fatalf("events: %s", got)
	}
	resp := evs[2].data["response"].(map[string]any)
	e := resp["error"].(map[string]any)
	if resp["status"] != "failed" || e["code"] != "server_is_overloaded" || e["message"] == "" {
		t.Fatalf("failed response: %v", resp)
	}
	if st := f.sim.Stats(); st.ResponsesFailed != 1 || st.ResponsesComplete != 0 || st.InputTokens != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Responses_Incomplete(t *testing.T) {
	f := newFixture(t, Options{Answer: "one two three four five six"})
	tok := f.sim.AddAccount(Account{})
	evs := streamTurn(t, f, tok, turnBody([]any{userMsg("openaisim:incomplete")}, nil))
	last := evs[len(evs)-1]
	if last.name != "response.incomplete" {
		t.Fatalf("events: %s", names(evs))
	}
	var text string
	for _, ev := range evs {
		if ev.name == "response.output_text.delta" {
			text += ev.data["delta"].(string)
		}
	}
	resp := last.data["response"].(map[string]any)
	if text != "one two three" || resp["status"] != "incomplete" ||
		resp["incomplete_details"].(map[string]any)["reason"] != "max_output_tokens" || resp["usage"] == nil {
		t.Fatalf("text %q, response %v", text, resp)
	}
	if st := f.sim.Stats(); st.ResponsesIncomplete != 1 || st.ResponsesComplete != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Responses_DirectiveInStringInput(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	evs := streamTurn(t, f, tok, turnBody(nil, map[string]any{"input": "openaisim:fail rate_limit_exceeded"}))
	if names(evs) != "created,in_progress,failed" {
		t.Fatalf("events: %s", names(evs))
	}
	// Only the LAST user message counts.
	evs = streamTurn(t, f, tok, turnBody([]any{userMsg("openaisim:fail x"), userMsg("fine now")}, nil))
	if !strings.HasSuffix(names(evs), ",completed") {
		t.Fatalf("events: %s", names(evs))
	}
}

func TestSim_Responses_RefusedParameters(t *testing.T) {
	for _, p := range refusedParams {
		t.Run(p, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.sim.AddAccount(Account{})
			for _, path := range []string{"/backend-api/codex/responses", "/backend-api/codex/responses/compact"} {
				body := validBody()
				body[p] = json.RawMessage(`1`)
				r := do(t, f.backendReq(t, "POST", path, tok, body))
				if r.status != 400 || r.body["detail"] != "Unsupported parameter: "+p {
					t.Fatalf("%s: got %d %s", path, r.status, r.raw)
				}
			}
		})
	}
	// The fields the Codex CLI sends stay accepted.
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	body := turnBody([]any{userMsg("hi")}, map[string]any{
		"tools": []any{fnTool("shell")}, "tool_choice": "auto", "parallel_tool_calls": false,
		"reasoning": map[string]any{"effort": "medium", "summary": "auto"}, "include": []string{"reasoning.encrypted_content"},
		"prompt_cache_key": "k", "text": map[string]any{"verbosity": "low"},
	})
	streamTurn(t, f, tok, body)
}
