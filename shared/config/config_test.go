package config

import (
	"strings"
	"testing"
	"time"
)

func TestFromLookup_DefaultsAndOverrides(t *testing.T) {
	env := map[string]string{"CODEXGATE_TABLE": "t1", "CODEXGATE_TOKEN_URL": "http://127.0.0.1:9/oauth/token"}
	c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "t1" || c.TokenURL != env["CODEXGATE_TOKEN_URL"] || c.SecretPrefix != Defaults.SecretPrefix || c.UpstreamURL != Defaults.UpstreamURL {
		t.Fatalf("config = %+v", c)
	}
}

func TestFromLookup_BadURL(t *testing.T) {
	env := map[string]string{"CODEXGATE_UPSTREAM_URL": "chatgpt.com/backend"}
	if _, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
		t.Fatal("want an error for a URL without scheme")
	}
}

func TestFromLookup_ClaudeModels(t *testing.T) {
	lookup := func(env map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	c, err := FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := c.ClaudeModels.Resolve("claude-haiku-4-5"); !ok || tg.Model != "gpt-5.1-codex-mini" {
		t.Errorf("default haiku = %v %v", tg, ok)
	}
	c, err = FromLookup(lookup(map[string]string{"CODEXGATE_CLAUDE_MODELS": "haiku=gpt-5.1-codex:low"}))
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := c.ClaudeModels.Resolve("claude-haiku-4-5"); !ok || tg.Model != "gpt-5.1-codex" || tg.Effort != "low" {
		t.Errorf("override haiku = %v %v", tg, ok)
	}
	if _, ok := c.ClaudeModels.Resolve("claude-opus-4-1"); ok {
		t.Error("an override replaces the whole mapping: opus should be unmapped")
	}
	if _, err := FromLookup(lookup(map[string]string{"CODEXGATE_CLAUDE_MODELS": "haiku=gpt:turbo"})); err == nil {
		t.Error("bad effort accepted")
	}
}

func TestFromLookup_UsageRetention(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 90 * 24 * time.Hour, false},
		{"30", 30 * 24 * time.Hour, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"30d", 0, true},
	}
	for _, tc := range tests {
		env := map[string]string{}
		if tc.value != "" {
			env["CODEXGATE_USAGE_RETENTION_DAYS"] = tc.value
		}
		c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err != nil) != tc.wantErr || (!tc.wantErr && c.UsageRetention != tc.want) {
			t.Errorf("%q: retention %v, err %v; want %v, error %v", tc.value, c.UsageRetention, err, tc.want, tc.wantErr)
		}
	}
}

func TestFromLookup_UsageFlush(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"2m", 2 * time.Minute, false},
		{"1", 0, true},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"1ms", 0, true},
		{"2h", 0, true},
	}
	for _, tc := range tests {
		env := map[string]string{}
		if tc.value != "" {
			env["CODEXGATE_USAGE_FLUSH"] = tc.value
		}
		c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err != nil) != tc.wantErr || (!tc.wantErr && c.UsageFlush != tc.want) {
			t.Errorf("%q: flush %v, err %v; want %v, error %v", tc.value, c.UsageFlush, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "CODEXGATE_USAGE_FLUSH") {
			t.Errorf("%q: error %q does not name the variable", tc.value, err)
		}
	}
}

func TestFromLookup_RefreshWindow(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{{"", 2 * time.Hour, false}, {"90m", 90 * time.Minute, false}, {"0s", 0, true}, {"soon", 0, true}} {
		env := map[string]string{}
		if tc.value != "" {
			env["CODEXGATE_REFRESH_WINDOW"] = tc.value
		}
		c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err != nil) != tc.wantErr || (!tc.wantErr && c.RefreshWindow != tc.want) {
			t.Errorf("%q: window %v, err %v; want %v, error %v", tc.value, c.RefreshWindow, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "CODEXGATE_REFRESH_WINDOW") {
			t.Errorf("%q: error %q does not name the variable", tc.value, err)
		}
	}
}

func TestFromLookup_DetailedMetrics(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    bool
		wantErr bool
	}{
		{"", false, false},
		{"true", true, false},
		{"1", true, false},
		{"false", false, false},
		{"yes", false, true},
	} {
		env := map[string]string{}
		if tc.value != "" {
			env["CODEXGATE_DETAILED_METRICS"] = tc.value
		}
		c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if (err != nil) != tc.wantErr || (!tc.wantErr && c.DetailedMetrics != tc.want) {
			t.Errorf("%q: detailed %v, err %v; want %v, error %v", tc.value, c.DetailedMetrics, err, tc.want, tc.wantErr)
		}
	}
}

func TestFromLookup_RoutingAndAliases(t *testing.T) {
	lookup := func(env map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	}
	c, err := FromLookup(lookup(nil))
	if err != nil || c.RoutingStrategy != "" || c.ModelNames == nil {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	// A Claude mapping's target is a known model: its suffix resolves.
	c, err = FromLookup(lookup(map[string]string{"CODEXGATE_CLAUDE_MODELS": "opus=my-codex:high",
		"CODEXGATE_MODEL_ALIASES": "fast=gpt-5.1-codex-mini:low", "CODEXGATE_ROUTING_STRATEGY": "soonest-reset"}))
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := c.ModelNames.Resolve("my-codex-low"); !ok || tg.Model != "my-codex" || tg.Effort != "low" {
		t.Errorf("suffix on a Claude target = %v %v", tg, ok)
	}
	if tg, ok := c.ModelNames.Resolve("fast"); !ok || tg.Model != "gpt-5.1-codex-mini" {
		t.Errorf("alias = %v %v", tg, ok)
	}
	if c.RoutingStrategy != "soonest-reset" {
		t.Errorf("strategy %q", c.RoutingStrategy)
	}
	for name, v := range map[string]string{
		"CODEXGATE_ROUTING_STRATEGY": "round-robin",
		"CODEXGATE_MODEL_ALIASES":    "fast=gpt-5:ultra",
	} {
		_, err := FromLookup(lookup(map[string]string{name: v}))
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%q: %v, want a one-line error naming it", name, v, err)
		}
	}
}
