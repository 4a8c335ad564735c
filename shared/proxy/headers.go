package proxy

import (
	"net/http"
	"strings"

	"github.com/codexgate/codexgate/shared/codex"
)

// hopHeaders are hop-by-hop headers (RFC 9110 §7.6.1), meaningful for one
// connection only; they are removed in both directions, as are the headers
// a Connection header names.
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection", // non-standard, sent by some clients
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",      // canonicalized "TE"
	"Trailer", // not Trailers, per RFC 7230 errata
	"Transfer-Encoding",
	"Upgrade",
}

// requestStripped never reach the upstream.
var requestStripped = []string{
	// The client's own credentials: a codexgate key is no OpenAI credential,
	// and the account is ours to choose.
	"Authorization",
	"X-Api-Key",
	"Cookie",
	"Chatgpt-Account-Id",
	"Openai-Organization",
	"Openai-Project",
	// Forwarding: the upstream must not learn the client's address or our
	// infrastructure.
	"Forwarded",
	"Via",
	"X-Real-Ip",
	"True-Client-Ip",
	"Cdn-Loop",
	// Tracing.
	"Traceparent",
	"Tracestate",
	"Baggage",
	"B3",
	// Recomputed per upstream request: Host from the upstream URL,
	// Content-Length from the (possibly rewritten, decompressed) body; the
	// transport negotiates compression itself.
	"Host",
	"Content-Length",
	"Content-Encoding",
	"Accept-Encoding",
	"Expect",
}

// requestStrippedPrefixes are header families that never reach the upstream
// (canonical form): forwarding (X-Forwarded-For/-Proto/-Port/-Host), API
// Gateway and Lambda (X-Amzn-Trace-Id, X-Amz-Cf-Id), CDNs (CF-Ray,
// CF-Connecting-IP, CloudFront-Viewer-Country) and B3 tracing.
var requestStrippedPrefixes = []string{"X-Forwarded-", "X-Amzn-", "X-Amz-", "Cf-", "Cloudfront-", "X-B3-"}

// responseStripped never reach the client: cookies and CDN state belong to
// the account's session with the upstream; lengths are recomputed.
var responseStripped = []string{
	"Content-Length",
	"Set-Cookie",
	"Alt-Svc",
	"Nel",
	"Report-To",
	"Strict-Transport-Security",
	"Server",
}

var responseStrippedPrefixes = []string{"Cf-"}

// Codex identity headers, set when the client did not send its own.
const (
	codexOriginator = "codex_cli_rs"
	codexUserAgent  = "codex_cli_rs/0.169.0 (codexgate) codexgate"
)

var (
	requestStrippedSet  = canonicalSet(hopHeaders, requestStripped)
	responseStrippedSet = canonicalSet(hopHeaders, responseStripped)
)

func canonicalSet(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, h := range l {
			m[http.CanonicalHeaderKey(h)] = true
		}
	}
	return m
}

// filterHeader copies src into a new header without the stripped names,
// prefixes and the headers src's Connection header names. Values are shared
// with src, which neither side mutates.
func filterHeader(src http.Header, set map[string]bool, prefixes []string, extra int) http.Header {
	dst := make(http.Header, len(src)+extra)
	conn := src["Connection"]
	for k, vv := range src {
		if set[k] || hasPrefix(k, prefixes) || connectionNames(conn, k) {
			continue
		}
		dst[k] = vv
	}
	return dst
}

func hasPrefix(k string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// connectionNames reports whether the Connection header values name k.
func connectionNames(conn []string, k string) bool {
	for _, v := range conn {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" && http.CanonicalHeaderKey(f) == k {
				return true
			}
		}
	}
	return false
}

// upstreamHeader builds the upstream request's header from the client's:
// everything the client sent except requestStripped*, plus the account's
// credentials and the Codex identity. Codex headers the client sent
// (session_id, conversation_id, OpenAI-Beta, version, x-codex-*, originator,
// User-Agent) pass through.
func upstreamHeader(in http.Header, rt *route, creds codex.Credentials) http.Header {
	h := filterHeader(in, requestStrippedSet, requestStrippedPrefixes, 4)
	h["Authorization"] = []string{"Bearer " + creds.Access}
	if creds.AccountID != "" {
		h["Chatgpt-Account-Id"] = []string{creds.AccountID}
	}
	if len(h["Originator"]) == 0 {
		h["Originator"] = []string{codexOriginator}
	}
	if len(h["User-Agent"]) == 0 {
		h["User-Agent"] = []string{codexUserAgent}
	}
	h["Accept"] = []string{rt.accept}
	if rt.method == http.MethodPost {
		h["Content-Type"] = []string{"application/json"}
	}
	return h
}

// copyResponseHeader copies the upstream response's header to the client's,
// without responseStripped* (x-codex-* quota headers pass).
func copyResponseHeader(dst, src http.Header) {
	conn := src["Connection"]
	for k, vv := range src {
		if responseStrippedSet[k] || hasPrefix(k, responseStrippedPrefixes) || connectionNames(conn, k) {
			continue
		}
		dst[k] = vv
	}
}
