package messages

import (
	"strings"
	"testing"
)

func TestModels_Resolve(t *testing.T) {
	custom := MustParseModels("opus=gpt-5.1-codex-max:xhigh, claude-sonnet-4-5-20250929=gpt-5.1-codex:low, sonnet=gpt-5.1-codex")
	tests := []struct {
		name   string
		models Models
		model  string
		want   Target
		ok     bool
	}{
		{"default opus", defaultModels, "claude-opus-4-1-20250805", Target{Model: "gpt-5.1-codex", Effort: "high"}, true},
		{"default sonnet", defaultModels, "claude-sonnet-4-5-20250929", Target{Model: "gpt-5.1-codex", Effort: "medium"}, true},
		{"default haiku", defaultModels, "claude-haiku-4-5-20251001", Target{Model: "gpt-5.1-codex-mini", Effort: "medium"}, true},
		{"default other claude", defaultModels, "claude-3-7-foo", Target{Model: "gpt-5.1-codex", Effort: "medium"}, true},
		{"case-insensitive", defaultModels, "Claude-OPUS-4", Target{Model: "gpt-5.1-codex", Effort: "high"}, true},
		{"codex name passes through", defaultModels, "gpt-5.1-codex-mini", Target{Model: "gpt-5.1-codex-mini", Effort: "medium"}, true},
		{"zero Models is the default", Models{}, "claude-haiku-4-5", Target{Model: "gpt-5.1-codex-mini", Effort: "medium"}, true},
		{"exact name beats family", custom, "claude-sonnet-4-5-20250929", Target{Model: "gpt-5.1-codex", Effort: "low"}, true},
		{"family with default effort", custom, "claude-sonnet-4-6", Target{Model: "gpt-5.1-codex", Effort: "medium"}, true},
		{"custom effort", custom, "claude-opus-4-6", Target{Model: "gpt-5.1-codex-max", Effort: "xhigh"}, true},
		{"unmapped claude refused", custom, "claude-haiku-4-5", Target{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.models.Resolve(tc.model)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Resolve(%q) = %v, %v; want %v, %v", tc.model, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseModels_Errors(t *testing.T) {
	for _, spec := range []string{"opus", "=gpt:high", "opus=:high", "opus=gpt:turbo", "opus=a,opus=b", " , "} {
		if _, err := ParseModels(spec); err == nil {
			t.Errorf("ParseModels(%q) accepted", spec)
		}
	}
	m, err := ParseModels("")
	if err != nil || m.String() != defaultModels.String() {
		t.Errorf("empty spec: %v, %q", err, m.String())
	}
	if !strings.HasPrefix(defaultModels.String(), "sonnet=") {
		t.Errorf("String orders longest key first: %q", defaultModels.String())
	}
}

func TestStopper_Feed(t *testing.T) {
	tests := []struct {
		name   string
		seqs   []string
		deltas []string
		want   string // emitted text, then "|" and the sequence on a hit
	}{
		{"none", nil, []string{"a", "b"}, "ab"},
		{"in one delta", []string{"STOP"}, []string{"xSTOPy"}, "x|STOP"},
		{"across deltas", []string{"STOP"}, []string{"x ST", "OP y"}, "x |STOP"},
		{"false start released", []string{"STOP"}, []string{"a S", "T", "b"}, "a STb"},
		{"earliest of two", []string{"world", "lo"}, []string{"hello world"}, "hel|lo"},
		{"held tail flushed", []string{"STOP"}, []string{"end ST"}, "end ST"},
		{"multibyte", []string{"é!"}, []string{"caf\xc3", "\xa9!"}, "caf|é!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := stopper{seqs: tc.seqs}
			var got strings.Builder
			for _, d := range tc.deltas {
				out, seq, hit := s.feed(d)
				got.WriteString(out)
				if hit {
					got.WriteString("|" + seq)
					break
				}
			}
			if !strings.Contains(got.String(), "|") {
				got.WriteString(s.flush())
			}
			if got.String() != tc.want {
				t.Errorf("got %q, want %q", got.String(), tc.want)
			}
		})
	}
}
