// Package login runs the OAuth 2.0 authorization-code flow with PKCE that
// `codexgate login` uses to create a new ChatGPT login for an account
// (docs/DESIGN.md §6.6), the same flow Codex CLI's `codex login` runs:
//
//  1. New makes a random code verifier, its S256 challenge and a random
//     state, and builds the authorize URL with the Codex CLI's client id and
//     the redirect URI http://localhost:<port>/auth/callback;
//  2. the user opens the URL; OpenAI redirects the browser to the loopback
//     callback, which Listen serves on 127.0.0.1:<port>. On a remote shell
//     the browser cannot reach that port, so Wait also accepts the callback
//     URL pasted from the address bar (ReadPasted);
//  3. the state is checked (a mismatch is a forged or stale callback) and
//     the code is exchanged through codex.OAuthClient.ExchangeCode — the only
//     code that calls the token endpoint — with the verifier;
//  4. AuthFile turns the token response into a Codex auth.json document,
//     which the caller stores straight into the account's secret. Nothing
//     is written to disk.
package login
