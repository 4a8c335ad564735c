// Package models resolves the model names clients send into the model and
// reasoning effort sent upstream, the same way on every front: aliases
// (CODEXGATE_MODEL_ALIASES), then effort suffixes ("gpt-5.1-codex-high" is
// gpt-5.1-codex at effort high when gpt-5.1-codex is a known model), else
// the name passes through. It also names the extra entries GET /v1/models
// lists so that clients with a model picker offer them.
//
// The mapping syntax "name=model[:effort],…" is the one of
// CODEXGATE_CLAUDE_MODELS too (ParseSpec; shared/wire/messages).
package models

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Target is what a client model name runs as on the Codex backend.
type Target struct {
	Model  string // Codex model, e.g. gpt-5.1-codex
	Effort string // reasoning effort; "" leaves the request's own
}

// Efforts are the reasoning efforts the Responses API knows; an alias or
// mapping may name any of them.
var Efforts = []string{"none", "minimal", "low", "medium", "high", "xhigh"}

// SuffixEfforts are the efforts a model-name suffix may name, in the order
// GET /v1/models lists them.
var SuffixEfforts = []string{"minimal", "low", "medium", "high", "xhigh"}

// Entry is one "key=model[:effort]" of a mapping.
type Entry struct {
	Key string // lower case
	Target
}

// ParseSpec parses "key=model[:effort],key=model[:effort],…" (an effort
// left out is defaultEffort). Keys are lower-cased and must be unique.
func ParseSpec(spec, defaultEffort string) ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		model, effort, _ := strings.Cut(strings.TrimSpace(val), ":")
		model, effort = strings.TrimSpace(model), strings.TrimSpace(effort)
		if effort == "" {
			effort = defaultEffort
		}
		switch {
		case !ok || key == "" || model == "":
			return nil, fmt.Errorf("model mapping %q: want name=model[:effort]", entry)
		case effort != "" && !slices.Contains(Efforts, effort):
			return nil, fmt.Errorf("model mapping %q: unknown effort %q (want %s)", entry, effort, strings.Join(Efforts, ", "))
		case seen[key]:
			return nil, fmt.Errorf("model mapping: %q appears twice", key)
		}
		seen[key] = true
		out = append(out, Entry{Key: key, Target: Target{Model: model, Effort: effort}})
	}
	return out, nil
}

// BuiltinModels are the Codex models known before any /models answer was
// seen: a suffix on one of them resolves in a cold container too.
var BuiltinModels = []string{
	"gpt-5", "gpt-5-codex", "gpt-5-codex-mini",
	"gpt-5.1", "gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.1-codex-max",
	"gpt-5.2", "gpt-5.2-codex",
}

// Resolver resolves client model names. Its zero value knows the builtin
// models and no alias. It is safe for concurrent use; Learn may run while
// Resolve does.
type Resolver struct {
	aliases map[string]Target
	names   []string // alias names in spec order, for the model list
	fixed   map[string]bool
	learned atomic.Pointer[map[string]bool] // slugs of the last /models answer
}

// ParseAliases parses CODEXGATE_MODEL_ALIASES ("name=model[:effort],…";
// without an effort the request's own applies) into a Resolver. An alias
// is matched exactly (case-insensitive) on every front; its model counts
// as known.
func ParseAliases(spec string) (*Resolver, error) {
	entries, err := ParseSpec(spec, "")
	if err != nil {
		return nil, err
	}
	r := &Resolver{aliases: map[string]Target{}, fixed: map[string]bool{}}
	for _, m := range BuiltinModels {
		r.fixed[m] = true
	}
	for _, e := range entries {
		if strings.ContainsAny(e.Key, "*") {
			return nil, fmt.Errorf("model alias %q: an alias is an exact name, not a pattern", e.Key)
		}
		r.aliases[e.Key] = e.Target
		r.names = append(r.names, e.Key)
		r.fixed[strings.ToLower(e.Model)] = true
	}
	return r, nil
}

// Known adds models to the known set (e.g. the targets of the Claude
// mapping).
func (r *Resolver) Known(models ...string) {
	for _, m := range models {
		r.fixed[strings.ToLower(m)] = true
	}
}

// Learn replaces the models learned from the Codex backend's model list
// with slugs (each /models answer the proxy relays).
func (r *Resolver) Learn(slugs []string) {
	m := make(map[string]bool, len(slugs))
	for _, s := range slugs {
		m[strings.ToLower(s)] = true
	}
	r.learned.Store(&m)
}

func (r *Resolver) known(lower string) bool {
	if r.fixed[lower] {
		return true
	}
	if m := r.learned.Load(); m != nil {
		return (*m)[lower]
	}
	return false
}

// Resolve returns the target of a client model name, and false when the
// name passes through unchanged (no alias, no effort suffix on a known
// model: "gpt-5.1-codex-ultra" is sent as it is). An alias wins over a
// suffix.
func (r *Resolver) Resolve(name string) (Target, bool) {
	if r == nil {
		return Target{}, false
	}
	i := strings.LastIndexByte(name, '-')
	if len(r.aliases) == 0 && i < 0 {
		return Target{}, false // the common case costs no allocation
	}
	lower := strings.ToLower(name)
	if t, ok := r.aliases[lower]; ok {
		return t, true
	}
	if i <= 0 || !slices.Contains(SuffixEfforts, lower[i+1:]) || !r.known(lower[:i]) {
		return Target{}, false
	}
	// The known spelling (the backend's slugs are lower case), whatever
	// case the client typed.
	return Target{Model: lower[:i], Effort: lower[i+1:]}, true
}

// Listed is one model of the Codex backend's list: its slug and the
// efforts it supports (empty: not said).
type Listed struct {
	Slug    string
	Efforts []string
}

// Expand returns the extra names GET /v1/models lists after the given
// models: each model's suffixed names (for the efforts it supports, or
// every suffix effort when it does not say), then every alias whose model
// is listed. Call it on the list as the client may see it (after any
// per-key filter): it adds no name for a model the list left out.
func (r *Resolver) Expand(list []Listed) []string {
	var out []string
	have := make(map[string]bool, len(list))
	for _, m := range list {
		have[strings.ToLower(m.Slug)] = true
	}
	for _, m := range list {
		for _, e := range SuffixEfforts {
			if len(m.Efforts) == 0 || slices.Contains(m.Efforts, e) {
				if name := m.Slug + "-" + e; !have[strings.ToLower(name)] {
					out = append(out, name)
				}
			}
		}
	}
	if r != nil {
		for _, a := range r.names {
			if !have[a] && have[strings.ToLower(r.aliases[a].Model)] {
				out = append(out, a)
			}
		}
	}
	return out
}
