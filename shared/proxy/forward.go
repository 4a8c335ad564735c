package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

// forward runs the attempts of one request: pick an account, call the
// upstream, and either relay the answer or fail over to the next account.
// Failover happens only before anything was written to the client.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, in *inbound, lg *reqLog) {
	ctx := r.Context()
	if err := p.pool.ensure(ctx); err != nil {
		lg.err = err
		if ctx.Err() != nil {
			p.clientGone(ctx, w, lg)
			return
		}
		lg.status = p.writeError(w, err)
		return
	}
	tried := map[string]bool{}
	retriedTransport := false
	var lastErr error
	for {
		acct, probe, err := p.pool.pick(in.session, tried, in.ctl.accountSet())
		if err != nil {
			switch {
			case errors.Is(err, errNoAccount) && errors.Is(lastErr, codex.ErrHolderBusy):
				err = fmt.Errorf("%w: last: %w", errRefreshing(p.cfg.Clock().Add(refreshingRetry)), lastErr)
			case errors.Is(err, errNoAccount) && lastErr != nil:
				err = fmt.Errorf("%w: last: %w", errUpstreamFailed, lastErr)
			}
			lg.err = err
			lg.status = p.writeError(w, err)
			return
		}
		tried[acct] = true
		lg.account = acct
		wait := p.cfg.HolderWaitAlone
		if p.pool.hasOther(tried, in.ctl.accountSet()) {
			wait = p.cfg.HolderWait
		}
		up, err := p.attempt(ctx, in, acct, lg, probe, wait)
		if probe {
			p.pool.probeDone(acct)
		}
		if ctx.Err() != nil {
			if up != nil {
				up.close()
			}
			p.clientGone(ctx, w, lg)
			return
		}
		if err != nil {
			lastErr = err
			var te *transportError
			if errors.As(err, &te) && !retriedTransport {
				// One more try on the same account: a POST on a reused
				// connection the server had just closed is not retried by
				// the transport itself.
				retriedTransport = true
				delete(tried, acct)
			}
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "failover", slog.String("account", acct), slog.String("error", err.Error()))
			continue
		}
		lg.status = up.resp.StatusCode // if the relay aborts
		lg.status = p.relay(w, r, in, up, lg)
		return
	}
}

// clientGone ends a request whose context ended before any answer: a
// client that went away gets nothing (499 in the log, as nginx has it); a
// deadline (the Lambda's remaining time) still gets a 504.
func (p *Proxy) clientGone(ctx context.Context, w http.ResponseWriter, lg *reqLog) {
	lg.err = ctx.Err()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		lg.status = p.writeError(w, errTimeout)
		return
	}
	lg.status = 499
}

// upstreamAnswer is an upstream response the proxy will relay, with the
// first SSE event already read when the route streams.
type upstreamAnswer struct {
	resp *http.Response
	sse  *sseReader // non-nil for a 200 event stream
	// first is the raw first event (already consumed from sse).
	first []byte
}

func (u *upstreamAnswer) close() {
	u.resp.Body.Close()
	if u.sse != nil {
		u.sse.release()
	}
}

// transportError is a failure to get any answer from the upstream.
type transportError struct{ err error }

func (e *transportError) Error() string { return "upstream request: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// maxTokens bounds the tokens one attempt sends: the one it starts with,
// and after each 401 on a token it did not see minted, one more from a
// forced refresh.
const maxTokens = 3

// attempt is one account's try: get a token (waiting at most wait for a
// refresh another holder runs), send, and on 401 force a refresh with the
// rejected token and replay. A 401 on a token the refresh this request
// waited for has just minted, or on an account already cooling down for
// 401s (or probed by this request), is the upstream's doing, not the
// token's: it cools the account down instead of spending another refresh.
// An error means "fail over"; the account's state is updated on the way.
func (p *Proxy) attempt(ctx context.Context, in *inbound, acct string, lg *reqLog, probe bool, wait time.Duration) (*upstreamAnswer, error) {
	opts := codex.AccessOptions{Wait: wait}
	creds, err := p.cfg.Tokens.AccessToken(ctx, acct, opts)
	if err != nil {
		return nil, p.tokenFailure(acct, err)
	}
	for sent := 1; ; sent++ {
		lg.attempts++
		resp, err := p.send(ctx, in, acct, creds)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			if resp.StatusCode < http.StatusInternalServerError && resp.StatusCode != http.StatusForbidden {
				p.pool.authorized(ctx, acct) // the upstream took the token
			}
			return p.classify(ctx, in, acct, resp)
		}
		discard(resp)
		if why := p.unrefreshable(acct, creds, probe, sent); why != "" {
			until := p.pool.unauthorized(ctx, acct, creds.Version)
			return nil, fmt.Errorf("account %s: upstream 401 on %s; cooling down until %s", acct, why, until.UTC().Format(time.RFC3339))
		}
		opts.Force, opts.Rejected = true, creds.Access
		if creds, err = p.cfg.Tokens.AccessToken(ctx, acct, opts); err != nil {
			return nil, p.tokenFailure(acct, err)
		}
	}
}

// unrefreshable says why a 401 on creds must not spend a refresh ("" when
// it may): the upstream, not the token, is at fault, or the attempt has
// sent its last token.
func (p *Proxy) unrefreshable(acct string, creds codex.Credentials, probe bool, sent int) string {
	switch {
	case creds.Minted:
		return "a token just minted"
	case probe:
		return "a probe"
	case p.pool.onProbation(acct):
		return "an account already cooling down for 401s"
	case sent == maxTokens:
		return fmt.Sprintf("its %d tokens in a row", maxTokens)
	}
	return ""
}

// classify decides what an upstream answer means for the account: relay it,
// or record a limit / failure and fail over.
func (p *Proxy) classify(ctx context.Context, in *inbound, acct string, resp *http.Response) (*upstreamAnswer, error) {
	now := p.cfg.Clock()
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		ue := readUpstreamError(resp)
		return nil, p.limited(ctx, acct, ue, retryAfter(resp.Header, now))
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusForbidden:
		// 403: an account the backend refuses (deactivated, challenged);
		// another account may work.
		ue := readUpstreamError(resp)
		return nil, fmt.Errorf("account %s: upstream HTTP %d %s", acct, code, ue.kind())
	case code != http.StatusOK || !in.rt.responses || !isEventStream(resp.Header):
		return &upstreamAnswer{resp: resp}, nil
	}
	// A 200 stream can still fail at once with an account-level error
	// event: read the first event before committing to this account.
	sr := newSSEReader(resp.Body)
	first, err := sr.nextEvent()
	if err != nil {
		// Nothing usable arrived (an empty or cut stream): nothing reached
		// the client yet, so another account can still serve the request.
		sr.release()
		resp.Body.Close()
		return nil, fmt.Errorf("account %s: first event: %w", acct, err)
	}
	if ue, failed := streamFailure(viewEvent(first)); failed {
		sr.release()
		resp.Body.Close()
		return nil, p.limited(ctx, acct, ue, time.Time{})
	}
	return &upstreamAnswer{resp: resp, sse: sr, first: first}, nil
}

// limited records a 429: usage_limit_reached cools the account down (for
// every container) until the limit resets; anything else is a short
// in-memory backoff.
func (p *Proxy) limited(ctx context.Context, acct string, ue upstreamError, retryAt time.Time) error {
	now := p.cfg.Clock()
	if ue.kind() == codeUsageLimit {
		until := ue.resetAt(now)
		if until.IsZero() || !until.After(now) {
			until = now.Add(usageLimitFallback)
		}
		p.pool.cooldown(ctx, acct, until, quota.CooldownUsageLimit)
		return fmt.Errorf("account %s: usage limit reached until %s", acct, until.UTC().Format(time.RFC3339))
	}
	if retryAt.IsZero() {
		retryAt = now.Add(p.cfg.RateLimitBackoff)
	}
	p.pool.backoff(acct, retryAt)
	return fmt.Errorf("account %s: rate limited (%s)", acct, ue.kind())
}

// tokenFailure handles an error from the token source: a dead login takes
// the account out of the pool; anything else fails over for this request.
func (p *Proxy) tokenFailure(acct string, err error) error {
	var limited *codex.RateLimitedError
	switch {
	case errors.As(err, &limited):
		// The account's refresh budget is spent: skip it until it refills.
		p.pool.backoff(acct, limited.RetryAt)
	case errors.Is(err, codex.ErrReauthRequired):
		p.pool.reauth(acct)
	case errors.Is(err, codex.ErrHolderBusy):
		// Another holder is refreshing it: nothing wrong with the account.
	case errors.Is(err, codex.ErrAccountNotFound):
		// Deleted since the list was loaded: skip it until the next reload
		// instead of asking the store again on every request.
		p.pool.backoff(acct, p.cfg.Clock().Add(p.cfg.AccountsRefresh))
	}
	return fmt.Errorf("account %s: access token: %w", acct, err)
}

// send makes one upstream request with the account's credentials. The body
// is the validated copy read before, so it can be replayed.
func (p *Proxy) send(ctx context.Context, in *inbound, acct string, creds codex.Credentials) (*http.Response, error) {
	u := *p.upstream
	u.Path += in.rt.upstream
	u.RawQuery = in.query
	var body io.Reader
	if in.body != nil {
		body = bytes.NewReader(in.body)
	}
	// The URL is built, not printed and parsed again (every request pays).
	req, err := http.NewRequestWithContext(ctx, in.rt.method, "", body)
	if err != nil {
		return nil, fmt.Errorf("build upstream request: %w", err)
	}
	req.URL, req.Host = &u, u.Host
	req.Header = upstreamHeader(in.header, in.rt, creds)
	if in.body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(in.body)), nil }
	}
	resp, err := p.cfg.Transport.RoundTrip(req)
	if err != nil {
		return nil, &transportError{fmt.Errorf("account %s: %w", acct, err)}
	}
	p.pool.observe(acct, quotaFromHeader(resp.Header, p.cfg.Clock()))
	return resp, nil
}

// discard drains a little of a body we do not relay (so the connection can
// be reused) and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) //nolint:errcheck // best effort
	resp.Body.Close()
}

func isEventStream(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
}
