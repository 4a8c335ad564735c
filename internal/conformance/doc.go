// Package conformance holds the behaviour every implementation of the
// refresh protocol's backends must show, as testing/fstest.TestFS does for
// file systems: Leaser for codex.Leaser and TokenStore for codex.TokenStore.
// The in-memory fakes (internal/codexmem) and the AWS adapters
// (shared/codex/dynamolease, shared/codex/secretstore, against the local
// stack) run the same suite, so a fake cannot be kinder than the real thing
// where the protocol depends on it.
package conformance
