package messages

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. On a shared machine wall
// time per op measures the neighbours; CPU time per op is the figure the
// issue's target is about.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ns/op metric over the loop that follows.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkTranslate_Turn is the translation CPU of one Claude Code turn over
// /v1/responses: its request (the trimmed Claude Code request of
// testdata/request/claude_code.json, grown to a realistic size: a 20 kB
// system prompt, 12 tools and a 10-turn history) to a Responses body, then
// a 40-delta streamed answer back to Anthropic events. The target
// is ≤ 0.1 ms per request.
func BenchmarkTranslate_Turn(b *testing.B) {
	raw := claudeCodeTurn(b)
	var upstream [][2]string
	upstream = append(upstream, [2]string{"response.created", `{"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}`},
		[2]string{"response.output_item.added", `{"type":"response.output_item.added","output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}}`})
	for i := range 40 {
		upstream = append(upstream, [2]string{"response.output_text.delta", fmt.Sprintf(`{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"word%d ","sequence_number":%d}`, i, i+2)})
	}
	upstream = append(upstream,
		[2]string{"response.output_item.done", `{"type":"response.output_item.done","output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"…"}]}}`},
		[2]string{"response.completed", `{"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[],"usage":{"input_tokens":9000,"input_tokens_details":{"cached_tokens":8000},"output_tokens":41}}}`})
	b.SetBytes(int64(len(raw)))
	benchTurn(b, raw, upstream)
}

// claudeCodeTurn builds a Claude Code sized request from the golden
// Claude Code request.
func claudeCodeTurn(b *testing.B) []byte {
	base, err := os.ReadFile("testdata/request/claude_code.json")
	if err != nil {
		b.Fatal(err)
	}
	s := string(base)
	prompt := strings.Repeat("You are an agent working with the user toward their goals. ", 340) // ~20 kB
	s = strings.Replace(s, `"You are a Claude agent, built on Anthropic's Claude Agent SDK."`, fmt.Sprintf("%q", prompt), 1)
	var tools []string
	for i := range 12 {
		tools = append(tools, fmt.Sprintf(`{"name":"Tool%d","description":"Does thing %d with a long description of its arguments and behaviour.","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"path":{"type":"string","description":"A path"},"limit":{"type":"number"}},"required":["path"]}}`, i, i))
	}
	var turns []string
	for i := range 5 {
		turns = append(turns,
			fmt.Sprintf(`{"role":"assistant","content":[{"type":"text","text":"Reading file %d."},{"type":"tool_use","id":"toolu_%d","name":"Tool1","input":{"path":"f%d.go"}}]}`, i, i, i),
			fmt.Sprintf(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_%d","content":%q}]}`, i, strings.Repeat("package main // line\n", 40)))
	}
	s = strings.Replace(s, `"tools": [`, `"tools": [`+strings.Join(tools, ",")+",", 1)
	s = strings.Replace(s, `"messages": [`, `"messages": [{"role":"user","content":"start"},`+strings.Join(turns, ",")+",", 1)
	return []byte(s)
}

// BenchmarkTranslate_Small is the translation CPU of the request `make bench`
// sends (one short user message, no tools) and the simulator's answer.
func BenchmarkTranslate_Small(b *testing.B) {
	raw := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":"You are Codex.","messages":[{"role":"user","content":"Say hello."}]}`)
	upstream := [][2]string{
		{"response.created", `{"type":"response.created","response":{"id":"resp_1","status":"in_progress"}}`},
		{"response.in_progress", `{"type":"response.in_progress","response":{"id":"resp_1","status":"in_progress"}}`},
		{"response.output_item.added", `{"type":"response.output_item.added","output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}}`},
		{"response.content_part.added", `{"type":"response.content_part.added","item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":""}}`},
	}
	for _, w := range strings.Fields("Hello from the codexgate simulator.") {
		upstream = append(upstream, [2]string{"response.output_text.delta", fmt.Sprintf(`{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"%s "}`, w)})
	}
	upstream = append(upstream,
		[2]string{"response.output_text.done", `{"type":"response.output_text.done","item_id":"msg_1","output_index":0,"content_index":0,"text":"Hello from the codexgate simulator."}`},
		[2]string{"response.content_part.done", `{"type":"response.content_part.done","item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hello from the codexgate simulator."}}`},
		[2]string{"response.output_item.done", `{"type":"response.output_item.done","output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello from the codexgate simulator."}]}}`},
		[2]string{"response.completed", `{"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello from the codexgate simulator."}]}],"usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":0},"output_tokens":6}}}`})
	benchTurn(b, raw, upstream)
}

// benchTurn measures one whole turn: raw translated, then upstream's events
// converted, as the Messages front does per request.
func benchTurn(b *testing.B, raw []byte, upstream [][2]string) {
	b.ReportAllocs()
	var out []byte
	defer reportCPU(b)()
	for b.Loop() {
		tr, err := TranslateRequest(raw, defaultModels)
		if err != nil {
			b.Fatal(err)
		}
		c := NewConverter(tr)
		for _, ev := range upstream {
			out = c.Event(out[:0], ev[0], []byte(ev[1]))
		}
		if !c.Done() {
			b.Fatal("not done")
		}
	}
}
