package core

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core/internal/backoff"
)

// result is what one whoami lookup found.
type result struct {
	kind       reason // its row in reasons says the rest
	session    *client.Session
	header     map[string][]string // Set-Cookie to pass on
	retryAfter int                 // seconds, for reasonRateLimited
	redirect   string              // Ory's redirect_browser_to
	cached     bool                // a fresh cache hit: Ory was not asked
}

// lookup asks Ory's whoami once, for flight f, and caches a usable
// session, within the limit of concurrent lookups.
func (g *Guard) lookup(ctx context.Context, key sessionKey, c *credential, f *flight) result {
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
			defer func() { <-g.sem }()
		default:
			g.observeRefused(ctx)
			g.logBusy(ctx)
			return result{kind: reasonBusy}
		}
	}
	return g.ask(ctx, key, c, f)
}

// ask is lookup once it holds a lookup slot (a refresh takes its own, see
// startRefresh).
func (g *Guard) ask(ctx context.Context, key sessionKey, c *credential, f *flight) result {
	caller := ctx
	ctx = g.whoamiStart(ctx, f.refresh)
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req := g.api.FrontendAPI.ToSession(ctx)
	if c.kind == credCookie {
		req = req.Cookie(c.cookieHeader())
	} else {
		req = req.XSessionToken(c.token)
	}
	sent := g.now() // freshness counts from here (lifetime)
	start := time.Now()
	s, resp, err := req.Execute()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // client-go has read it already; this keeps linters and readers sure
	}
	res := g.classify(ctx, s, resp, err)
	switch now := g.now().UnixNano(); {
	case res.kind == reasonRateLimited:
		g.backoff.Limited(res.retryAfter, now)
	case reasons[res.kind].oryAnswered:
		g.backoff.Answered(sent.UnixNano(), now)
	}
	g.whoamiDone(ctx, caller, &res, resp, start, f.refresh)
	if res.kind != reasonSession && caller.Err() != nil {
		// The caller left; Ory's answer (likely an aborted call) says
		// nothing about the session or about Ory's health.
		return result{kind: reasonCanceled}
	}
	if res.kind == reasonOryFailed || res.kind == reasonTimeout {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		g.log.LogAttrs(ctx, slog.LevelError, "oryguard: Ory session check failed",
			slog.Int("ory_status", status), slog.String("error", errString(err)),
			slog.Duration("elapsed", time.Since(start)))
	}
	if res.kind == reasonRateLimited {
		g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: Ory rate-limited the session check",
			slog.Int("retry_after_seconds", res.retryAfter))
	}
	if res.kind == reasonSession && g.cache != nil {
		fresh, evict := g.lifetime(resp.Header, sent, unixNano(*s.ExpiresAt))
		e := g.newEntry(s, sent.UnixNano(), fresh, evict)
		if f.refresh {
			e.cookie = res.header // for the credential's next request: this one's was served already
		}
		if g.store(f, key, e) {
			if f.refresh {
				res.header = nil // handed on by the entry, once
			}
			g.share(ctx, key, s, fresh)
		}
	}
	return res
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// classify reads Ory's answer. Anything but a well-formed usable session is
// not a session.
func (g *Guard) classify(ctx context.Context, s *client.Session, resp *http.Response, err error) result {
	if resp == nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err) {
			return result{kind: reasonTimeout}
		}
		return result{kind: reasonOryFailed}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err != nil {
			if isTimeout(err) || ctx.Err() != nil {
				return result{kind: reasonTimeout}
			}
			return result{kind: reasonOryFailed}
		}
		if s == nil || s.Id == "" {
			return result{kind: reasonOryFailed}
		}
		if !usable(s, g.now()) {
			return result{kind: reasonNoSession}
		}
		return result{kind: reasonSession, session: s, header: g.setCookies(resp.Header)}
	case http.StatusUnauthorized:
		return result{kind: reasonNoSession}
	case http.StatusForbidden:
		id, to := errorDetails(err)
		if id == "session_aal2_required" {
			return result{kind: reasonAAL2, redirect: to}
		}
		return result{kind: reasonForbidden, redirect: to}
	case http.StatusTooManyRequests:
		return result{kind: reasonRateLimited, retryAfter: retryAfter(resp.Header.Get("Retry-After"), g.now())}
	}
	return result{kind: reasonOryFailed}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorDetails reads error.id and redirect_browser_to from an Ory error
// body carried by client-go's error.
func errorDetails(err error) (id, redirectTo string) {
	var oe interface{ Body() []byte }
	if !errors.As(err, &oe) {
		return "", ""
	}
	var body struct {
		Error struct {
			ID      string `json:"id"`
			Details struct {
				RedirectBrowserTo string `json:"redirect_browser_to"`
			} `json:"details"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	if json.Unmarshal(oe.Body(), &body) != nil {
		return "", ""
	}
	to := body.RedirectBrowserTo
	if to == "" {
		to = body.Error.Details.RedirectBrowserTo
	}
	return body.Error.ID, to
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) as whole
// seconds between 1 and backoff.Max.
func retryAfter(v string, now time.Time) int {
	secs := 1
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		secs = n
	} else if t, err := http.ParseTime(v); err == nil {
		secs = int(t.Sub(now).Round(time.Second) / time.Second)
	}
	return max(1, min(secs, int(backoff.Max/time.Second)))
}

// setCookies keeps the Set-Cookie headers of Ory's answer that refresh a
// session cookie, so the adapter can pass them to the browser.
func (g *Guard) setCookies(h http.Header) map[string][]string {
	var keep []string
	for _, sc := range h.Values("Set-Cookie") {
		name, _, _ := strings.Cut(sc, "=")
		if g.cookies.match(strings.TrimSpace(name)) {
			keep = append(keep, sc)
		}
	}
	if keep == nil {
		return nil
	}
	// A response that refreshes a session cookie must never be stored by a
	// shared cache. The adapter sets this before the handler runs, so a
	// handler may still make it stricter (no-store) by replacing it.
	return map[string][]string{"Set-Cookie": keep, "Cache-Control": {"private"}}
}

// maxBody caps how much of Ory's answer the guard reads.
const maxBody = 4 << 20

// limitBodies makes every response body from Ory fail after maxBody bytes,
// so a runaway or hostile answer cannot exhaust memory. Its transport also
// adds Cache-Control: max-age=0 to the deliberate re-asks (reask).
func limitBodies(c *http.Client) *http.Client {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = limitTransport{rt}
	return c
}

type limitTransport struct{ next http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if reasking(r.Context()) {
		// A deliberate re-ask (reask): Ory Network's edge answers fresh.
		// Nothing of the incoming request is involved.
		r = r.Clone(r.Context()) // a RoundTripper must not modify its request
		r.Header.Set("Cache-Control", "max-age=0")
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: maxBody}
	}
	return resp, err
}

var errBodyTooLarge = errors.New("oryguard: Ory response body too large")

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// logBusy reports refusals by the lookup limit: the first at once, then at
// most one line a second with the number refused meanwhile, so a flood of
// random credentials cannot flood the logs too.
func (g *Guard) logBusy(ctx context.Context) {
	n := g.busyRefused.Add(1)
	now := time.Now().UnixNano()
	last := g.busyLogged.Load()
	if now-last < int64(time.Second) || !g.busyLogged.CompareAndSwap(last, now) {
		return
	}
	g.busyRefused.Add(-n)
	g.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: too many concurrent session lookups; answering 503",
		slog.Int("limit", cap(g.sem)), slog.Int64("refused", n))
}
