// Package proxy is codexgate's proxy core: an http.Handler that serves the
// OpenAI Responses API to codexgate clients (Codex CLI, OpenAI SDKs, curl)
// from a pool of ChatGPT-subscription Codex accounts.
//
// Two thin front doors use it: the Lambda function (functions/proxy, through
// the API Gateway REST streaming adapter in shared/lambdaproxy) and
// `codexgate serve` (a plain net/http server).
//
// One request goes through these steps, each in its own file:
//
//   - route.go: POST /v1/responses, POST /v1/responses/compact, GET /v1/models,
//     POST /v1/chat/completions;
//   - front.go, chat.go: an API front (Chat Completions, shared/wire/chat)
//     translates the body before anything goes upstream and the events
//     after; everything in between is the /v1/responses path;
//   - messages.go: POST /v1/messages and /v1/messages/count_tokens, the
//     Anthropic Messages front (Claude Code): the same steps below, with the
//     body and the answer translated by shared/wire/messages;
//   - auth.go: the client's codexgate API key, verified through a KeyVerifier
//     and cached per container for a short TTL (by digest, never the key);
//   - body.go, jsonscan.go: the body is read whole, size-limited and
//     validated before anything goes upstream (golang/go#40747: streaming the
//     client body through while the answer streams back truncates answers);
//   - pool.go, affinity.go: the usable account with the most quota headroom,
//     sticky per conversation;
//   - forward.go, upstream.go: the upstream call with the account's access
//     token; a 401 forces one refresh through the shared codex.TokenSource
//     and one replay, 429 and 5xx fail over to the next account — but only
//     before the first byte reached the client;
//   - relay.go, sse.go: SSE passed through whole events at a time and
//     flushed at once, or aggregated into the response.completed object for a
//     non-streaming client; a stream the upstream breaks ends with an SSE
//     error event, never with a replay;
//   - keepalive.go: a non-streaming answer still pending after 10 s gets its
//     200 and headers, then whitespace every 30 s (valid before a JSON
//     document), so API Gateway's 5-minute idle limit never cuts a long turn;
//   - usage.go, usage_batch.go: the upstream's final usage, caught as the
//     SSE reader hands events out (every front), is counted once per
//     request after the answer's last byte, summed per counter (day, key,
//     account, model) and written at the next flush (a UsageRecorder:
//     per-key day counters, metrics): FlushUsage every interval in
//     `codexgate serve`, Wait at the end of every Lambda invocation;
//   - budget.go: a key's daily and weekly token budgets, checked with the
//     key from per-container counters refreshed in the background;
//   - headers.go: what is stripped and set, both ways, as data;
//   - errors.go: every error the client sees, in OpenAI's shape.
//
// A warm request makes no AWS call before its first byte: keys, budgets,
// account states and access tokens come from per-container caches that are
// refreshed lazily; its usage is written after its last byte, at most one
// write per request.
package proxy
