// Package usage reads an account's Codex quota from the ChatGPT usage
// endpoint (GET {CODEXGATE_USAGE_URL}, docs/DESIGN.md §6.5) and classifies its
// windows.
//
// The endpoint answers
//
//	{"plan_type", "rate_limit": {"allowed", "limit_reached",
//	  "primary_window": {"used_percent", "limit_window_seconds", "reset_after_seconds", "reset_at"},
//	  "secondary_window": {…}}, "credits": {…}}
//
// Which window is "primary" is not a contract: windows are classified by
// limit_window_seconds (about 18000 s is the 5-hour window, 604800 s the
// weekly one), never by position.
//
// A 401 is returned as a *StatusError matching ErrUnauthorized: the caller
// asks the refresh routine for a new token (Force, Rejected = the refused
// token) and retries once. Client.ForAccount does exactly that. Tokens come
// only from a codex.TokenSource; this package never calls the token endpoint.
package usage
