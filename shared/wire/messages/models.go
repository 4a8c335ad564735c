package messages

import (
	"fmt"
	"sort"
	"strings"

	"github.com/codexgate/codexgate/shared/wire/models"
)

// Target is what a client model name runs as on the Codex backend.
type Target = models.Target

// Models maps client model names to Codex targets. A key matches a model
// name that contains it (case-insensitive), so a family word ("opus")
// covers every dated version; the longest matching key wins, so an exact
// name overrides its family. The key "*" covers every other name that
// starts with "claude". Other names pass through unchanged with
// DefaultEffort, so a client may name a Codex model directly. Names the
// deployment's aliases or an effort suffix resolve (WithNames) come first.
type Models struct {
	keys    []string // longest first
	targets map[string]Target
	names   *models.Resolver
}

// DefaultEffort is the effort of a model name passed through unmapped.
const DefaultEffort = "medium"

// DefaultModelsSpec is the mapping used when CODEXGATE_CLAUDE_MODELS is
// unset: Opus → the full Codex model thinking hard, Sonnet → the same at
// medium effort, Haiku (Claude Code's background model) → the mini model;
// any other Claude name ("*") → the full model at medium effort.
const DefaultModelsSpec = "opus=gpt-5.1-codex:high,sonnet=gpt-5.1-codex:medium,haiku=gpt-5.1-codex-mini:medium,*=gpt-5.1-codex:medium"

// ParseModels parses a mapping "key=model:effort,key=model:effort,…"
// (":effort" optional, default medium; the syntax of models.ParseSpec,
// shared with CODEXGATE_MODEL_ALIASES). An empty spec is DefaultModelsSpec.
func ParseModels(spec string) (Models, error) {
	if strings.TrimSpace(spec) == "" {
		spec = DefaultModelsSpec
	}
	entries, err := models.ParseSpec(spec, DefaultEffort)
	if err != nil {
		return Models{}, err
	}
	if len(entries) == 0 {
		return Models{}, fmt.Errorf("model mapping %q: no entries", spec)
	}
	m := Models{targets: map[string]Target{}}
	for _, e := range entries {
		m.targets[e.Key] = e.Target
		m.keys = append(m.keys, e.Key)
	}
	sort.SliceStable(m.keys, func(i, j int) bool { return len(m.keys[i]) > len(m.keys[j]) })
	return m, nil
}

// WithNames returns m resolving names through r first (aliases, effort
// suffixes); m's own mapping applies to the names r passes through.
func (m Models) WithNames(r *models.Resolver) Models {
	if m.targets == nil {
		m = defaultModels
	}
	m.names = r
	return m
}

// Targets lists the Codex models m maps to.
func (m Models) Targets() []string {
	if m.targets == nil {
		m = defaultModels
	}
	out := make([]string, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, m.targets[k].Model)
	}
	return out
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
	if t, ok := m.names.Resolve(name); ok {
		if t.Effort == "" {
			t.Effort = DefaultEffort
		}
		return t, true
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
