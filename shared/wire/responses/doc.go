// Package responses is the OpenAI Responses API as the Codex backend speaks
// it, defined once for everything that builds or reads it: the proxy's
// /v1/responses path (shared/proxy) and the two fronts that translate to
// and from it (shared/wire/chat, shared/wire/messages). It does no I/O.
//
//   - request.go: the request body and its input items, tools and options,
//     in the field order Codex CLI sends them;
//   - instructions.go: the instructions the backend requires when a client
//     sends none;
//   - events.go: the stream's event names, and which of them end it;
//   - usage.go: the final event's usage object, read without a full decode.
package responses
