package console

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/statestore"
)

// Paths the console serves; every other path goes to the proxy.
const (
	PathPage   = "/status"
	PathStatus = "/v1/admin/status"
)

//go:embed page.html
var page []byte

// pageCSP allows the page its own inline script and style (by hash) and
// requests to its own origin, nothing else: no external script, font or
// image can load, and the page cannot be framed.
var pageCSP = func() string {
	hashes := func(tag string) string {
		re := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`)
		var out []string
		for _, m := range re.FindAllSubmatch(page, -1) {
			sum := sha256.Sum256(m[1])
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return strings.Join(out, " ")
	}
	return "default-src 'none'; script-src " + hashes("script") + "; style-src " + hashes("style") +
		"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// KeyLookup finds an active API key by its plaintext
// (statestore.Store.LookupKey: one consistent read, by digest).
type KeyLookup interface {
	LookupKey(ctx context.Context, plaintext string) (statestore.APIKey, error)
}

// StatusSource gathers the status (Source).
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
}

// Handler serves the page and the status JSON.
type Handler struct {
	Keys   KeyLookup
	Status StatusSource
	Logger *slog.Logger // nil: slog.Default()
}

// statusTimeout bounds the reads of one status request.
const statusTimeout = 20 * time.Second

// Mount serves the console's two paths with h and every other request with
// next: one comparison on a client's request, nothing more.
func Mount(next http.Handler, h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathPage || r.URL.Path == PathStatus {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers GET /status (the page, which holds no data) and GET
// /v1/admin/status (the JSON, for an admin key only).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "Method not allowed for this URL.")
		return
	}
	switch r.URL.Path {
	case PathPage:
		hd := w.Header()
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Content-Length", strconv.Itoa(len(page)))
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(page) //nolint:errcheck // the client went away
		}
	case PathStatus:
		h.status(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	key := requestKey(r.Header)
	if key == "" {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
			"Missing admin key. Send it as 'Authorization: Bearer <key>'; create one with `codexgate keys create --name N --admin`.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	ak, err := h.Keys.LookupKey(ctx, key)
	switch {
	case errors.Is(err, statestore.ErrKeyNotFound):
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	case err != nil:
		h.log().Warn("console: verify admin key", slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, "server_error", "auth_unavailable", "The API key could not be verified right now. Please retry.")
		return
	case !ak.Admin:
		writeError(w, http.StatusForbidden, "invalid_request_error", "permission_denied",
			"This key is a client key; the status needs an admin key (`codexgate keys create --name N --admin`).")
		return
	}
	st, err := h.Status.Status(ctx)
	if err != nil {
		h.log().Warn("console: read status", slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, "server_error", "status_unavailable", "The status could not be read right now. Please retry.")
		return
	}
	body, err := json.Marshal(st)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "status_unavailable", "The status could not be encoded.")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body) //nolint:errcheck // the client went away
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// requestKey is the key of "Authorization: Bearer <key>" or "x-api-key".
func requestKey(h http.Header) string {
	if a := h.Get("Authorization"); a != "" {
		if scheme, key, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(key)
		}
		return ""
	}
	return strings.TrimSpace(h.Get("X-Api-Key"))
}

// writeError answers in OpenAI's error shape, as the proxy's /v1 routes do.
func writeError(w http.ResponseWriter, status int, typ, code, message string) {
	type object struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	}
	body, _ := json.Marshal(struct {
		Error object `json:"error"`
	}{object{message, typ, code}})
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away
}
