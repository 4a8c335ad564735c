package models

import (
	"slices"
	"strings"
	"testing"
)

func TestResolver_Resolve(t *testing.T) {
	r, err := ParseAliases("fast=gpt-5.1-codex-mini:low, Deep=my-hidden-model ,x=gpt-5:xhigh")
	if err != nil {
		t.Fatal(err)
	}
	r.Learn([]string{"gpt-6-codex"})
	tests := []struct {
		name string
		want Target
		ok   bool
	}{
		{"gpt-5.1-codex-high", Target{Model: "gpt-5.1-codex", Effort: "high"}, true},
		{"gpt-5.1-codex-mini-minimal", Target{Model: "gpt-5.1-codex-mini", Effort: "minimal"}, true},
		{"GPT-5.1-Codex-XHIGH", Target{Model: "gpt-5.1-codex", Effort: "xhigh"}, true},
		{"gpt-6-codex-low", Target{Model: "gpt-6-codex", Effort: "low"}, true},           // learned from /models
		{"my-hidden-model-high", Target{Model: "my-hidden-model", Effort: "high"}, true}, // an alias's model is known
		{"fast", Target{Model: "gpt-5.1-codex-mini", Effort: "low"}, true},
		{"DEEP", Target{Model: "my-hidden-model"}, true},
		{"gpt-5.1-codex-ultra", Target{}, false}, // not an effort: the name passes
		{"gpt-5.1-codex-none", Target{}, false},  // "none" is no suffix
		{"unknown-model-high", Target{}, false},  // not a known model
		{"gpt-5.1-codex", Target{}, false},
		{"-high", Target{}, false},
		{"fast-high", Target{}, false}, // an alias is no model
		{"", Target{}, false},
	}
	for _, tc := range tests {
		got, ok := r.Resolve(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Resolve(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	var nilR *Resolver
	if _, ok := nilR.Resolve("gpt-5.1-codex-high"); ok {
		t.Error("nil Resolver resolved")
	}
	// Learn replaces what was learned.
	r.Learn(nil)
	if _, ok := r.Resolve("gpt-6-codex-low"); ok {
		t.Error("a model no longer listed still resolves")
	}
}

func TestParseAliases_Errors(t *testing.T) {
	for _, spec := range []string{"fast", "=gpt-5", "fast=", "fast=gpt-5:ultra", "a=gpt-5,A=gpt-5.1", "*=gpt-5"} {
		_, err := ParseAliases(spec)
		if err == nil {
			t.Errorf("ParseAliases(%q) accepted", spec)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseAliases(%q): error not one line: %q", spec, err)
		}
	}
	if r, err := ParseAliases(" "); err != nil || len(r.aliases) != 0 {
		t.Errorf("empty spec: %v", err)
	}
}

func TestResolver_Expand(t *testing.T) {
	r, err := ParseAliases("fast=gpt-5.1-codex-mini:low,deep=gpt-5.1-codex-max:xhigh")
	if err != nil {
		t.Fatal(err)
	}
	got := r.Expand([]Listed{
		{Slug: "gpt-5.1-codex", Efforts: []string{"low", "medium", "high"}},
		{Slug: "gpt-5.1-codex-mini"},
	})
	want := []string{
		"gpt-5.1-codex-low", "gpt-5.1-codex-medium", "gpt-5.1-codex-high",
		"gpt-5.1-codex-mini-minimal", "gpt-5.1-codex-mini-low", "gpt-5.1-codex-mini-medium", "gpt-5.1-codex-mini-high", "gpt-5.1-codex-mini-xhigh",
		"fast", // deep's model is not in the (possibly filtered) list
	}
	if !slices.Equal(got, want) {
		t.Errorf("Expand = %v\nwant %v", got, want)
	}
	if got := r.Expand(nil); len(got) != 0 {
		t.Errorf("Expand(nil) = %v", got)
	}
}

func BenchmarkResolve(b *testing.B) {
	r, _ := ParseAliases("fast=gpt-5.1-codex-mini:low")
	for _, name := range []string{"gpt-5.1-codex", "gpt-5.1-codex-high"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Resolve(name)
			}
		})
	}
}
