package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/jsonscan"
	"github.com/codexgate/codexgate/shared/metering"
)

// KeyInfo is what a KeyInfoVerifier tells of a valid key: its name, its
// token budgets and its routing controls (`codexgate keys create/update`).
type KeyInfo struct {
	Name   string
	Budget metering.KeyBudget
	// Models are the upstream models the key may use; empty: every model.
	Models []string
	// Accounts are the only accounts that may serve the key; empty: every
	// account.
	Accounts []string
	// MaxConcurrent caps the key's requests in flight in one container;
	// 0: no cap.
	MaxConcurrent int
}

// KeyInfoVerifier is a KeyVerifier that also returns everything the key
// carries. It is cached with the key (Config.KeyCacheTTL), so the controls
// cost no store call of their own, and a change reaches every container
// within Config.KeyMaxStale.
type KeyInfoVerifier interface {
	VerifyKeyInfo(ctx context.Context, key string) (KeyInfo, error)
}

// keyControls are a key's routing controls, prepared once per key lookup
// so that a request only makes map lookups. A nil *keyControls has none.
type keyControls struct {
	models        map[string]bool // nil: every model
	allowed       string          // the models, listed for a refusal
	accounts      accountSet      // nil: every account
	maxConcurrent int             // 0: no cap
}

// newKeyControls prepares info's controls; nil when it has none.
func newKeyControls(info KeyInfo) *keyControls {
	if len(info.Models) == 0 && len(info.Accounts) == 0 && info.MaxConcurrent <= 0 {
		return nil
	}
	c := &keyControls{maxConcurrent: max(info.MaxConcurrent, 0)}
	if len(info.Models) > 0 {
		c.models = make(map[string]bool, len(info.Models))
		for _, m := range info.Models {
			c.models[m] = true
		}
		c.allowed = strings.Join(info.Models, ", ")
	}
	if len(info.Accounts) > 0 {
		c.accounts = make(accountSet, len(info.Accounts))
		for _, a := range info.Accounts {
			c.accounts[a] = true
		}
	}
	return c
}

// accountSet is the accounts that may serve the key; nil: every account.
func (c *keyControls) accountSet() accountSet {
	if c == nil {
		return nil
	}
	return c.accounts
}

// modelFilter is the model list's filter for the key (ModelDoc.Filter):
// nil when the key may use every model.
func (c *keyControls) modelFilter() func(string) bool {
	if c == nil || c.models == nil {
		return nil
	}
	return func(id string) bool { return c.models[id] }
}

// checkModel refuses a request for a model outside the key's allow-list.
// It checks the model of the body that goes upstream, i.e. after the front
// translated the client's request (Claude names, suffixes and aliases are
// resolved by then), so the list names upstream models whatever the front.
// The front tells the model (in.model) from the pass it made over the
// body anyway; only when it did not is the body skimmed again.
func (c *keyControls) checkModel(in *inbound) error {
	if c == nil || c.models == nil || in.body == nil {
		return nil
	}
	model := in.model
	if model == "" {
		model = bodyModel(in.body)
	}
	if c.models[model] {
		return nil
	}
	return errModelNotAllowed(model, c.allowed)
}

// bodyModel is the "model" string of a request body ("" when absent or
// not a string).
func bodyModel(body []byte) string {
	var buf [1][]byte
	vals, ok := jsonscan.FieldsInto(buf[:], body, []string{"model"})
	if !ok {
		return ""
	}
	return jsonString(vals[0])
}

// jsonString decodes a raw JSON string value; "" when raw is not one.
func jsonString(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if !strings.ContainsRune(string(raw), '\\') {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// errModelNotAllowed is the 403 for a model outside the key's allow-list;
// the Messages front answers it as Anthropic's permission_error.
func errModelNotAllowed(model, allowed string) *apiError {
	return &apiError{status: http.StatusForbidden, typ: typeInvalidRequest, code: "model_not_allowed",
		message: fmt.Sprintf("The model %q is not allowed for this API key. It may use: %s.", model, allowed)}
}

// concurrencyRetry is the Retry-After of a request refused for the key's
// concurrency cap: a slot frees when one of its requests ends, which no one
// can tell in advance.
const concurrencyRetry = time.Second

// errTooManyConcurrent is the 429 for a key at its concurrency cap; the
// Messages front answers it as Anthropic's rate_limit_error.
func errTooManyConcurrent(limit int, now time.Time) *apiError {
	return &apiError{status: http.StatusTooManyRequests, typ: "rate_limit_exceeded", code: "concurrency_limit_exceeded",
		message:  fmt.Sprintf("This API key already has %d requests in progress, its limit. Retry when one has finished.", limit),
		resetsAt: now.Add(concurrencyRetry)}
}

// inflight counts each key's requests in progress in this container, for
// the keys' concurrency caps. Per container, not across containers: a
// shared count would cost a store write at both ends of every request.
type inflight struct {
	mu sync.Mutex
	n  map[string]int // key name → requests in progress
}

// acquire takes one of key's limit slots; false when all are taken.
func (f *inflight) acquire(key string, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= limit {
		return false
	}
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[key]++
	return true
}

// release gives back a slot acquire took.
func (f *inflight) release(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}

// count is key's requests in progress (tests).
func (f *inflight) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[key]
}
