// Package config reads codexgate's settings from the environment. The names
// and defaults are an interface the project commits to (README, docs/DESIGN.md §8.1).
package config

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/wire/messages"
	"github.com/codexgate/codexgate/shared/wire/models"
)

// Config is every setting the functions and the CLI share.
type Config struct {
	Table        string // CODEXGATE_TABLE
	SecretPrefix string // CODEXGATE_SECRET_PREFIX
	UpstreamURL  string // CODEXGATE_UPSTREAM_URL: the Codex backend base
	TokenURL     string // CODEXGATE_TOKEN_URL: the OAuth token endpoint
	UsageURL     string // CODEXGATE_USAGE_URL
	AuthorizeURL string // CODEXGATE_AUTHORIZE_URL: the OAuth authorize page (login)
	// ClaudeModels maps Claude model names on the Messages front to Codex
	// models and efforts (CODEXGATE_CLAUDE_MODELS, "opus=gpt-5.1-codex:high,…";
	// unset: messages.DefaultModelsSpec).
	ClaudeModels messages.Models
	// ModelNames resolves model aliases (CODEXGATE_MODEL_ALIASES,
	// "fast=gpt-5.1-codex-mini:low,…", the syntax of CODEXGATE_CLAUDE_MODELS;
	// an alias is an exact name, its effort optional) and effort suffixes
	// ("gpt-5.1-codex-high") on every front.
	ModelNames *models.Resolver
	// RoutingStrategy orders the usable accounts (CODEXGATE_ROUTING_STRATEGY:
	// headroom, the default; fill-first; soonest-reset). Account priority
	// orders before it.
	RoutingStrategy string
	// UsageRetention is how long per-key usage counters are kept
	// (CODEXGATE_USAGE_RETENTION_DAYS, whole days; default 90).
	UsageRetention time.Duration
	// UsageFlush is how often `codexgate serve` writes the usage it summed
	// per counter (CODEXGATE_USAGE_FLUSH, a Go duration such as "1s" or
	// "500ms"; default 1 s). The Lambda proxy writes at the end of each
	// invocation instead: a frozen container runs no timer.
	UsageFlush time.Duration
	// RefreshWindow is how far ahead of expiry the refresh function's
	// keep-alive renews an access token (CODEXGATE_REFRESH_WINDOW, a Go
	// duration such as "2h" or "90m"; default 2 h). It must exceed the
	// schedule's period, so that every token is renewed by a scheduled run
	// well before the proxy would have to refresh it in its hot path.
	RefreshWindow time.Duration
	// DetailedMetrics emits the per-account and per-key metrics
	// (CODEXGATE_DETAILED_METRICS, a boolean; default false): quota-cron's
	// UsedPercent by account and window and LimitReached by account, and
	// the proxy's usage metrics by key. CloudWatch bills each metric that
	// receives data ($0.30 a month each, docs/DESIGN.md §7.6), so these
	// cost about $0.90 a month per account and up to $1.50 per active key;
	// off, the same figures are emitted without those dimensions.
	DetailedMetrics bool
}

// RoutingStrategies are the values of CODEXGATE_ROUTING_STRATEGY, the
// default first: proxy.Strategies (the proxy validates them too).
var RoutingStrategies = []string{"headroom", "fill-first", "soonest-reset"}

// Defaults are the production values.
var Defaults = Config{
	Table:        "codexgate",
	SecretPrefix: "codexgate/accounts/",
	UpstreamURL:  "https://chatgpt.com/backend-api/codex",
	TokenURL:     "https://auth.openai.com/oauth/token",
	UsageURL:     "https://chatgpt.com/backend-api/wham/usage",
	AuthorizeURL: "https://auth.openai.com/oauth/authorize",

	UsageRetention: 90 * 24 * time.Hour,
	UsageFlush:     time.Second,
	RefreshWindow:  2 * time.Hour,
}

// FromEnv reads the environment over the defaults and validates the URLs.
func FromEnv() (Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup is FromEnv with an injectable lookup, for tests.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"CODEXGATE_TABLE", &c.Table},
		{"CODEXGATE_SECRET_PREFIX", &c.SecretPrefix},
		{"CODEXGATE_UPSTREAM_URL", &c.UpstreamURL},
		{"CODEXGATE_TOKEN_URL", &c.TokenURL},
		{"CODEXGATE_USAGE_URL", &c.UsageURL},
		{"CODEXGATE_AUTHORIZE_URL", &c.AuthorizeURL},
	} {
		if v, ok := lookup(f.name); ok && v != "" {
			*f.dst = v
		}
	}
	for name, v := range map[string]string{
		"CODEXGATE_UPSTREAM_URL": c.UpstreamURL, "CODEXGATE_TOKEN_URL": c.TokenURL,
		"CODEXGATE_USAGE_URL": c.UsageURL, "CODEXGATE_AUTHORIZE_URL": c.AuthorizeURL,
	} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("%s=%q: want an http(s) URL", name, v)
		}
	}
	spec, _ := lookup("CODEXGATE_CLAUDE_MODELS")
	claude, err := messages.ParseModels(spec)
	if err != nil {
		return Config{}, fmt.Errorf("CODEXGATE_CLAUDE_MODELS: %w", err)
	}
	c.ClaudeModels = claude
	spec, _ = lookup("CODEXGATE_MODEL_ALIASES")
	if c.ModelNames, err = models.ParseAliases(spec); err != nil {
		return Config{}, fmt.Errorf("CODEXGATE_MODEL_ALIASES: %w", err)
	}
	c.ModelNames.Known(claude.Targets()...)
	if v, ok := lookup("CODEXGATE_ROUTING_STRATEGY"); ok && v != "" {
		if !slices.Contains(RoutingStrategies, v) {
			return Config{}, fmt.Errorf("CODEXGATE_ROUTING_STRATEGY=%q: want one of %s", v, strings.Join(RoutingStrategies, ", "))
		}
		c.RoutingStrategy = v
	}
	if v, ok := lookup("CODEXGATE_USAGE_RETENTION_DAYS"); ok && v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 {
			return Config{}, fmt.Errorf("CODEXGATE_USAGE_RETENTION_DAYS=%q: want a whole number of days >= 1", v)
		}
		c.UsageRetention = time.Duration(days) * 24 * time.Hour
	}
	if v, ok := lookup("CODEXGATE_USAGE_FLUSH"); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Millisecond || d > time.Hour {
			return Config{}, fmt.Errorf("CODEXGATE_USAGE_FLUSH=%q: want a duration from 10ms to 1h, such as 1s", v)
		}
		c.UsageFlush = d
	}
	if v, ok := lookup("CODEXGATE_REFRESH_WINDOW"); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("CODEXGATE_REFRESH_WINDOW=%q: want a positive duration such as 2h", v)
		}
		c.RefreshWindow = d
	}
	if v, ok := lookup("CODEXGATE_DETAILED_METRICS"); ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("CODEXGATE_DETAILED_METRICS=%q: want true or false", v)
		}
		c.DetailedMetrics = b
	}
	return c, nil
}
