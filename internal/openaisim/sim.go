package openaisim

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultAnswer is the text streamed back when Options.Answer is empty.
const DefaultAnswer = "Hello from the codexgate simulator."

// ErrUnknownAccount is returned by the account setters for an account id the
// simulator never saw.
var ErrUnknownAccount = errors.New("openaisim: unknown account")

// Options configures a Sim. The zero value is usable.
type Options struct {
	// AccessTTL is the lifetime of issued access tokens (JWT exp and
	// expires_in). Default 1h.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token from its issue; a refresh
	// with an older one gets 401 refresh_token_expired. 0 = never expires.
	RefreshTTL time.Duration
	// CodeTTL is the lifetime of authorization codes. Default 10 min.
	CodeTTL time.Duration
	// KeepFamilyOnReuse turns off what OpenAI does when a spent refresh
	// token is presented again: revoke the whole login (its current refresh
	// token then gets refresh_token_invalidated, its access tokens
	// token_invalidated). Only a test that must see the family survive a
	// reuse sets it; every other world is as strict as OpenAI.
	KeepFamilyOnReuse bool
	// StrictOldAccess rejects an access token once a refresh superseded it
	// (401 token_invalidated). Default false: like the real service, old
	// access tokens stay valid until exp.
	StrictOldAccess bool
	// Clock is the simulator's time source. Default time.Now. Advance adds an
	// offset on top of it.
	Clock func() time.Time
	// Answer is the assistant text streamed by /responses. Default
	// DefaultAnswer.
	Answer string
	// Latency is added to every non-control request (benchmarks).
	Latency time.Duration
	// RedirectURIs, when set, are the only redirect_uri values /oauth/authorize
	// accepts. Default: http://localhost:<any port>/auth/callback and the same
	// on 127.0.0.1, the loopback callback the Codex CLI registers.
	RedirectURIs []string
}

// Sim is the simulator. It implements http.Handler; all state is guarded by
// one mutex, so it is safe for concurrent use.
type Sim struct {
	opts Options

	mu          sync.Mutex
	offset      time.Duration
	accounts    map[string]*account
	order       []string // account ids in creation order
	loginID     string
	families    map[string]*family
	refresh     map[string]*refreshRecord
	access      map[string]*accessRecord
	codes       map[string]*authCode
	faults      []*faultState
	swapWindows bool
	cacheKeys   map[string]bool // prompt_cache_key values seen (cached tokens on repeat)
	stats       Stats
	acctStats   map[string]*AccountStats
}

type account struct {
	Account
	primary, secondary           float64
	primaryReset, secondaryReset time.Time
	limitUntil                   time.Time
}

// family is one login: the chain of tokens produced by rotating refreshes.
type family struct {
	id         string
	accountID  string
	revoked    bool
	current    string        // current (unspent) refresh token
	lastAccess *accessRecord // newest access token; older ones are superseded
}

type refreshRecord struct {
	fam    *family
	issued time.Time
	spent  bool
}

type accessRecord struct {
	fam         *family
	exp         time.Time
	superseded  bool // a later refresh of the family issued a newer one
	invalidated bool // ExpireAccessTokens
}

type authCode struct {
	challenge   string
	redirectURI string
	accountID   string
	expires     time.Time
	used        bool
	fam         *family // the family the exchange produced
}

// New returns a simulator with no accounts.
func New(opts Options) *Sim {
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = time.Hour
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 10 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Answer == "" {
		opts.Answer = DefaultAnswer
	}
	return &Sim{
		opts:      opts,
		accounts:  map[string]*account{},
		families:  map[string]*family{},
		refresh:   map[string]*refreshRecord{},
		access:    map[string]*accessRecord{},
		codes:     map[string]*authCode{},
		cacheKeys: map[string]bool{},
		stats:     newStats(),
		acctStats: map[string]*AccountStats{},
	}
}

// now is the simulator clock (Options.Clock plus the Advance offset) for
// callers that do not hold s.mu; nowLocked is the same under the lock.
func (s *Sim) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time { return s.opts.Clock().Add(s.offset) }

// Advance moves the simulator clock forward by d (on top of Options.Clock).
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// ServeHTTP routes a request to the simulated endpoint.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	if !sleepCtx(r, s.opts.Latency) {
		return
	}
	h := s.route(r.URL.Path)
	f := s.takeFault(r)
	if f == nil {
		h(w, r, 0)
		return
	}
	s.applyFault(w, r, f, h)
}

// handler is one endpoint; cut > 0 aborts a stream after that many events.
type handler func(w http.ResponseWriter, r *http.Request, cut int)

func (s *Sim) route(path string) handler {
	switch path {
	case "/oauth/token":
		return method(http.MethodPost, s.handleToken)
	case "/oauth/authorize":
		return method(http.MethodGet, s.handleAuthorize)
	case "/backend-api/codex/responses":
		return method(http.MethodPost, s.handleResponses)
	case "/backend-api/codex/responses/compact":
		return method(http.MethodPost, s.handleCompact)
	case "/backend-api/codex/models":
		return method(http.MethodGet, s.handleModels)
	case "/backend-api/wham/usage":
		return method(http.MethodGet, s.handleUsage)
	}
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	}
}

func method(m string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, cut int) {
		if r.Method != m {
			w.Header().Set("Allow", m)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
			return
		}
		h(w, r, cut)
	}
}

// sleepCtx waits d or until the request is cancelled; false means cancelled.
func sleepCtx(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
