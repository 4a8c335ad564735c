// Package console is codexgate's operator console: GET /status, one
// self-contained HTML page (embedded; its inline script and style are
// allowed by hash in its Content-Security-Policy, nothing external loads),
// and GET /v1/admin/status, the JSON it reads every 30 s with an admin key.
//
// The page holds no data. It takes the admin key from the URL fragment
// (#key=…, which browsers never send; it is then removed from the address
// bar) or asks for it, keeps it in the tab's sessionStorage, and sends it
// as a bearer token. The JSON is answered only for an active admin key
// (statestore.APIKey.Admin): no key or a revoked one is 401, a client key
// 403 permission_denied, in OpenAI's error shape. An admin key is no client
// key: the proxy refuses it (awsstores.Keys). Nothing in the JSON is a
// token, a key or a secret.
//
// Files:
//
//	doc.go      this overview
//	handler.go  Handler (the two paths, admin authorisation), Mount (in front of the proxy)
//	status.go   Status, the JSON; Source, which reads it (accounts, usage per key, refresh
//	            events, deployment); accountStatus, the one place an account's status is decided
//	page.html   the page: hand-written HTML, CSS and JS, usable on a phone
//
// Only an admin's request reads anything: Mount adds one path comparison to
// a client's request and nothing else.
package console
