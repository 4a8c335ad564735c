// Package openaisim is a strict, in-process simulator of the OpenAI services
// codexgate talks to: the OAuth token endpoint (auth.openai.com), the Codex
// backend (chatgpt.com/backend-api/codex) and the usage endpoint
// (chatgpt.com/backend-api/wham/usage). It exists so that every test, the e2e
// runs with the real Codex CLI, the demo mode and the benchmarks exercise the
// product against rules at least as strict as the real service.
//
// One *Sim is one http.Handler serving every endpoint under one base URL:
//
//	POST /oauth/token                     refresh_token and authorization_code grants (JSON or form body)
//	GET  /oauth/authorize                 PKCE (S256) login, 302 to redirect_uri?code=…&state=…
//	POST /backend-api/codex/responses     SSE stream in Responses API shape
//	POST /backend-api/codex/responses/compact
//	GET  /backend-api/codex/models
//	GET  /backend-api/wham/usage
//	     /_sim/…                          test-only control API (see control.go)
//
// so a product is configured with CODEXGATE_TOKEN_URL=<base>/oauth/token,
// CODEXGATE_UPSTREAM_URL=<base>/backend-api/codex and
// CODEXGATE_USAGE_URL=<base>/backend-api/wham/usage.
//
// Strictness, on purpose:
//   - A refresh token is single use. A second use is rejected with 401
//     refresh_token_reused and counted (Stats.ReuseRejections), and the whole
//     token family is revoked, as OpenAI does after reuse (Stats.LoginsRevoked;
//     Options.KeepFamilyOnReuse turns that off for the one test that needs it). Rotation happens under one mutex, so N concurrent
//     refreshes of one token yield exactly one success.
//   - Access tokens are checked against what the simulator issued: JWT exp
//     against the simulator clock, server-side invalidation
//     (ExpireAccessTokens), family revocation, and the ChatGPT-Account-Id
//     header. Options.StrictOldAccess also rejects access tokens superseded by a
//     later refresh.
//   - /responses requires a JSON body with model, input, non-empty
//     instructions, "store": false and "stream": true, like the ChatGPT backend.
//   - Authorization codes are single use, short lived, bound to the
//     redirect_uri and the S256 code_challenge; reusing a code revokes the
//     family it produced.
//   - /responses and /compact refuse, with 400 {"detail":"Unsupported
//     parameter: X"}, the top-level parameters the ChatGPT Codex backend
//     refuses: max_output_tokens, max_completion_tokens, temperature, top_p,
//     truncation, context_management, user, prompt_cache_retention,
//     safety_identifier, stream_options. API fronts must drop them.
//
// Scripted turns. A /responses turn answers Options.Answer as one message
// item, unless the request says otherwise. Directives are read from the text
// of the LAST user message in input (a string input is that message):
//
//	openaisim:call NAME {"json":"args"}   answer one function_call item (call_id
//	                                      "call_…", arguments streamed in
//	                                      response.function_call_arguments.delta
//	                                      fragments, then .done and
//	                                      output_item.done) instead of a message.
//	                                      NAME must be a {"type":"function"} tool
//	                                      of the request, and ARGS (the rest of
//	                                      the line) a JSON object; otherwise the
//	                                      answer is a text saying what is wrong.
//	                                      Ignored once a function_call_output
//	                                      follows that user message.
//	openaisim:fail CODE                   response.created, response.in_progress,
//	                                      then response.failed with
//	                                      error {code: CODE, message}.
//	openaisim:incomplete                  stream the first half of the answer's
//	                                      words, then response.incomplete with
//	                                      incomplete_details.reason
//	                                      "max_output_tokens".
//
// When the last input item is a function_call_output, the answer is
// "<Answer> [tool output: <first 200 bytes of its output>]", so a test sees
// the tool result arrive. When the request has reasoning.summary set (not
// "none") and reasoning.effort is not "none" or "minimal", a reasoning item
// with ReasoningSummary as summary text deltas comes first
// (output_item.added, reasoning_summary_part.added,
// reasoning_summary_text.delta…, reasoning_summary_text.done,
// reasoning_summary_part.done, output_item.done), carrying encrypted_content
// when include lists "reasoning.encrypted_content".
//
// Usage, in response.completed and response.incomplete, is deterministic:
// input_tokens = max(1, bytes of the input JSON / 4); cached_tokens = half of
// input_tokens when input_tokens >= 256 or the prompt_cache_key was seen
// before, else 0; reasoning_tokens = 3 per word of ReasoningSummary when a
// reasoning item was sent; output_tokens = words of the streamed text + 1 (or
// bytes of call arguments / 4 + 1), plus reasoning_tokens; total_tokens =
// input + output. Stats sums them (InputTokens, CachedTokens, …) and keeps
// LastUsage.
//
// Faults (InjectFault) model the failures the refresh protocol must survive:
// delays, 5xx, dropped connections, a rotation the client never saw
// (Fault.AfterRefresh), streams cut mid-answer, and upstream incidents that
// answer 401 to valid tokens for a while (Status 401 with UnauthorizedBody,
// Fault.Until, on one Account or all). Stats exposes the counters
// tests assert on. cmd/openaisim runs the simulator as a separate process.
package openaisim
