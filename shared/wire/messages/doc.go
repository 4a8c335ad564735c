// Package messages translates Anthropic's Messages API to the Codex
// backend's Responses API and back, so Claude Code and the Anthropic SDKs can
// run on ChatGPT-subscription Codex accounts. It does no I/O: the proxy
// (shared/proxy) owns routing, keys, accounts, refresh and failover, and
// calls this package at the two edges of a request.
//
//   - request.go, content.go, tools.go: a Messages request body → a
//     Responses request body (TranslateRequest, building
//     shared/wire/responses types): the request's parameters, the content
//     blocks of its messages, and its tools, each with the rule for every
//     block and parameter: mapped, dropped (the backend has no equivalent
//     and the answer does not depend on it) or refused with a 400
//     invalid_request_error (honouring it is impossible and ignoring it
//     would silently change the answer);
//   - models.go: Claude model names → Codex model and reasoning effort, one
//     setting (CODEXGATE_CLAUDE_MODELS) with a default by family, after
//     the aliases and effort suffixes of shared/wire/models (WithNames);
//   - events.go, scan.go: the upstream's Responses events, skimmed for the
//     few fields the converter reads;
//   - stream.go, answer.go: Responses events → Anthropic SSE events
//     (message_start, content_block_*, message_delta, message_stop), or the
//     final message object for a non-streaming client, from one state
//     machine, and the Anthropic documents it writes;
//   - stop.go: stop_sequences, which the backend lacks, emulated on the text;
//   - errors.go: errors in Anthropic's shape and statuses.
//
// Golden files in testdata/ pin every mapping; `go test -update` rewrites
// them after a deliberate change.
package messages
