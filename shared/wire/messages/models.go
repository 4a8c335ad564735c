package messages

import (
	"fmt"
	"sort"
	"strings"
)

// Target is what a client model name runs as on the Codex backend.
type Target struct {
	Model  string // Codex model, e.g. gpt-5.1-codex
	Effort string // reasoning effort: low, medium, high (or whatever the model accepts)
}

// Models maps client model names to Codex targets. A key matches a model
// name that contains it (case-insensitive), so a family word ("opus")
// covers every dated version; the longest matching key wins, so an exact
// name overrides its family. The key "*" covers every other name that
// starts with "claude". Other names pass through unchanged with
// DefaultEffort, so a client may name a Codex model directly.
type Models struct {
	keys    []string // longest first
	targets map[string]Target
}

// DefaultEffort is the effort of a model name passed through unmapped.
const DefaultEffort = "medium"

// DefaultModelsSpec is the mapping used when CODEXGATE_CLAUDE_MODELS is
// unset: Opus → the full Codex model thinking hard, Sonnet → the same at
// medium effort, Haiku (Claude Code's background model) → the mini model;
// any other Claude name ("*") → the full model at medium effort.
const DefaultModelsSpec = "opus=gpt-5.1-codex:high,sonnet=gpt-5.1-codex:medium,haiku=gpt-5.1-codex-mini:medium,*=gpt-5.1-codex:medium"

// efforts are the reasoning efforts the Responses API knows.
var efforts = map[string]bool{"none": true, "minimal": true, "low": true, "medium": true, "high": true, "xhigh": true}

// ParseModels parses a mapping "key=model:effort,key=model:effort,…"
// (":effort" optional, default medium). An empty spec is DefaultModelsSpec.
func ParseModels(spec string) (Models, error) {
	if strings.TrimSpace(spec) == "" {
		spec = DefaultModelsSpec
	}
	m := Models{targets: map[string]Target{}}
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		model, effort, _ := strings.Cut(strings.TrimSpace(val), ":")
		if effort == "" {
			effort = DefaultEffort
		}
		switch {
		case !ok || key == "" || model == "":
			return Models{}, fmt.Errorf("model mapping %q: want name=model[:effort]", entry)
		case !efforts[effort]:
			return Models{}, fmt.Errorf("model mapping %q: unknown effort %q (want low, medium, high, …)", entry, effort)
		}
		if _, dup := m.targets[key]; dup {
			return Models{}, fmt.Errorf("model mapping: %q appears twice", key)
		}
		m.targets[key] = Target{Model: model, Effort: effort}
		m.keys = append(m.keys, key)
	}
	if len(m.keys) == 0 {
		return Models{}, fmt.Errorf("model mapping %q: no entries", spec)
	}
	sort.SliceStable(m.keys, func(i, j int) bool { return len(m.keys[i]) > len(m.keys[j]) })
	return m, nil
}

// MustParseModels is ParseModels for constant specs; it panics on error.
func MustParseModels(spec string) Models {
	m, err := ParseModels(spec)
	if err != nil {
		panic(err)
	}
	return m
}

// Resolve returns the target for a client model name, and false when the
// name is a Claude model no key covers.
func (m Models) Resolve(name string) (Target, bool) {
	if m.targets == nil {
		m = defaultModels
	}
	lower := strings.ToLower(name)
	for _, k := range m.keys {
		if k != "*" && strings.Contains(lower, k) {
			return m.targets[k], true
		}
	}
	if strings.HasPrefix(lower, "claude") {
		t, ok := m.targets["*"]
		return t, ok
	}
	return Target{Model: name, Effort: DefaultEffort}, true
}

// String renders the mapping in ParseModels' syntax, longest key first.
func (m Models) String() string {
	var b strings.Builder
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		t := m.targets[k]
		fmt.Fprintf(&b, "%s=%s:%s", k, t.Model, t.Effort)
	}
	return b.String()
}

var defaultModels = MustParseModels(DefaultModelsSpec)
