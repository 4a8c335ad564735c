package codex

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// spentField is the auth.json field (top level, beside "tokens") where a
// stored version keeps fingerprints of the refresh tokens its lineage spent,
// newest first. Codex CLI ignores fields it does not know.
const spentField = "codexgate_spent_refresh_tokens"

// spentKept bounds the lineage a version carries: far more rotations than a
// copy of an auth.json lying around is likely to be behind.
const spentKept = 64

// fingerprint names a refresh token without revealing it: 16 hex digits of
// its SHA-256, enough to tell a few hundred tokens of one login apart.
func fingerprint(refresh string) string {
	sum := sha256.Sum256([]byte(refresh))
	return hex.EncodeToString(sum[:8])
}

// Spent returns the fingerprints of the refresh tokens a's lineage spent.
func (a *AuthFile) Spent() []string {
	var out []string
	if raw, ok := a.extra[spentField]; ok {
		_ = json.Unmarshal(raw, &out) // a malformed list is an empty one
	}
	return out
}

// HasSpent reports whether refresh is one of the tokens a's lineage spent.
func (a *AuthFile) HasSpent(refresh string) bool {
	return refresh != "" && slices.Contains(a.Spent(), fingerprint(refresh))
}

// withSpent returns a copy of a whose lineage is spent.
func (a *AuthFile) withSpent(spent []string) *AuthFile {
	b := *a
	b.extra = make(map[string]json.RawMessage, len(a.extra)+1)
	for k, v := range a.extra {
		b.extra[k] = v
	}
	if len(spent) > spentKept {
		spent = spent[:spentKept]
	}
	raw, _ := json.Marshal(spent) // strings: cannot fail
	b.extra[spentField] = raw
	return &b
}

// Rotated is a after a refresh answered resp at now: the new tokens merged
// over the old ones, and the refresh token just spent added to the lineage.
func (a *AuthFile) Rotated(resp *TokenResponse, now time.Time) *AuthFile {
	b := a.WithToken(a.Token.Merge(resp, now), now)
	if b.Token.Refresh == a.Token.Refresh {
		return b
	}
	return b.withSpent(append([]string{fingerprint(a.Token.Refresh)}, a.Spent()...))
}

// inheritSpent is login a, to be stored over cur: it carries cur's lineage
// on, so that a token spent before the replace stays refused after it.
func (a *AuthFile) inheritSpent(cur *AuthFile) *AuthFile {
	if cur == nil {
		return a
	}
	old := cur.Spent()
	if len(old) == 0 {
		return a
	}
	merged := a.Spent()
	for _, f := range old {
		if !slices.Contains(merged, f) {
			merged = append(merged, f)
		}
	}
	return a.withSpent(merged)
}
