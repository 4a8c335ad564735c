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
//     POST /v1/chat/completions, POST /v1/messages and
//     /v1/messages/count_tokens, each with its front;
//   - auth.go: the client's codexgate API key, verified through a KeyVerifier
//     and cached per container for a short TTL (by digest, never the key),
//     and the key's daily and weekly token budgets, checked by the meter
//     (shared/metering) from per-container counters;
//   - keyctl.go: the key's routing controls, cached with it: the model
//     allow-list (checked on the model a front sends upstream, and
//     filtering GET /v1/models), the accounts it is bound to (an allowed
//     set for pool.pick) and its cap of requests in flight per container;
//   - body.go, front.go: the body is read whole, size-limited and handed to
//     the route's front before anything goes upstream (golang/go#40747:
//     streaming the client body through while the answer streams back
//     truncates answers). A front translates the body, as
//     httputil.ReverseProxy's Rewrite does, and converts the upstream's
//     events at the relay: responsesFront (body.go) validates and passes
//     the Responses API through, chatFront (chat.go, shared/wire/chat) and
//     messagesFront (messages.go, shared/wire/messages; Claude Code)
//     translate; everything in between is the same path. Each front
//     resolves model aliases and effort suffixes (shared/wire/models) as
//     it translates; models.go lists them in GET /v1/models;
//   - pool.go, rank.go, affinity.go: the conversation's account while it
//     is usable, else the first usable (not paused) account by priority
//     and the routing strategy (most headroom, fill-first, soonest reset),
//     among the key's accounts when it is bound;
//   - forward.go, upstream.go: the upstream call with the account's access
//     token; a 401 forces one refresh through the shared codex.TokenSource
//     and one replay, 429 and 5xx fail over to the next account — but only
//     before the first byte reached the client;
//   - sse.go, relay.go, convert.go, stream.go: the upstream's SSE, read
//     whole events at a time (shared/sse) while the final usage is caught,
//     is passed through (relay.go) or converted by the front (convert.go),
//     every write flushed at once in one place (stream.go), or aggregated
//     into one answer for a non-streaming client; a stream the upstream
//     breaks ends with an SSE error event, never with a replay;
//   - keepalive.go: a non-streaming Responses answer still pending after
//     10 s gets its 200 and headers, then whitespace every 30 s (valid
//     before a JSON document), so API Gateway's 5-minute idle limit never
//     cuts a long turn;
//   - usage.go: the final usage is counted once per request after the
//     answer's last byte, by the meter: summed per counter (day, key,
//     account, model) and written at the next flush (a metering.Recorder:
//     per-key day counters, metrics): FlushUsage every interval in
//     `codexgate serve`, Wait at the end of every Lambda invocation;
//   - headers.go: what is stripped and set, both ways, as data;
//   - errors.go: every error the client sees, in OpenAI's shape (the
//     Messages front's writer answers them in Anthropic's);
//   - requestlog.go: one log line per request, written after its answer.
//
// A warm request makes no AWS call before its first byte: keys, budgets,
// account states and access tokens come from per-container caches that are
// refreshed lazily; its usage is written after its last byte, at most one
// write per request.
package proxy
