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
//
// Faults (InjectFault) model the failures the refresh protocol must survive:
// delays, 5xx, dropped connections, a rotation the client never saw
// (Fault.AfterRefresh) and streams cut mid-answer. Stats exposes the counters
// tests assert on. cmd/openaisim runs the simulator as a separate process.
package openaisim
