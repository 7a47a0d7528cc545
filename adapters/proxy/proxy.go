package oryproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oryguard/oryguard/core"
)

// Proxy serves Ory's public browser APIs on the app's own origin. It is an
// http.Handler, safe for concurrent use; build it with New and mount it at
// its prefix (outside any guard and outside the app's own CSRF protection;
// see the package documentation).
type Proxy struct {
	s      *settings
	client *http.Client
	guard  *core.Guard
	route  *core.Route // an optional route, to read the session being logged out
	now    func() time.Time
}

// New checks cfg and returns the proxy.
func New(cfg Config) (*Proxy, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	t := cfg.Transport
	if t == nil {
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	p := &Proxy{
		s: s,
		client: &http.Client{
			Transport: t,
			// The browser follows Ory's redirects, through the proxy; the
			// proxy never does.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		guard: cfg.Guard,
		now:   time.Now,
	}
	if p.guard != nil {
		p.route = p.guard.Route(core.Optional())
	}
	return p, nil
}

// URL is the app's URL for Ory through this proxy (AppURL plus the prefix),
// the URL to give browsers for login, registration and the like; the guard's
// browser-facing Ory URL should be set to it.
func (p *Proxy) URL() string { return p.s.proxied }

// ServeHTTP forwards one request to Ory, or refuses it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Vary", "Cookie")

	sub, escaped, ok := p.s.orySubpath(r.URL)
	if !ok {
		refuse(w, http.StatusNotFound)
		return
	}
	rt, methods := classify(r.Method, sub)
	switch rt {
	case routeNone:
		refuse(w, http.StatusNotFound)
		return
	case routeMethod:
		h.Set("Allow", methods)
		refuse(w, http.StatusMethodNotAllowed)
		return
	}

	body, status := p.readBody(r)
	if status != 0 {
		refuse(w, status)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), p.s.timeout)
	defer cancel()

	target := *p.s.ory
	target.Path = p.s.ory.Path + sub
	target.RawPath = p.s.ory.EscapedPath() + escaped
	target.RawQuery = r.URL.RawQuery
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), rd)
	if err != nil {
		refuse(w, http.StatusBadRequest)
		return
	}
	out.Header = p.s.outHeader(r.Header)

	var sessionID string
	switch {
	case p.route == nil:
	case rt == routeLogout:
		cr := core.RequestFromHTTP(r)
		if d := p.route.Authenticate(ctx, &cr); d.Session != nil {
			sessionID = d.Session.Id
		}
	case rt == routeRevoke:
		sessionID = strings.TrimPrefix(sub, "/sessions/")
	}

	resp, err := p.client.Do(out)
	if err != nil {
		p.failed(w, r, sub, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	p.respond(w, r, sub, &target, resp, rt, sessionID)
}

// readBody reads a request body up to the cap; a bigger one is 413.
func (p *Proxy) readBody(r *http.Request) ([]byte, int) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, 0
	}
	if r.ContentLength > p.s.maxBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, p.s.maxBody+1))
	switch {
	case err != nil:
		return nil, http.StatusBadRequest
	case int64(len(b)) > p.s.maxBody:
		return nil, http.StatusRequestEntityTooLarge
	}
	return b, 0
}

// respond passes Ory's response back, rewritten for the app.
func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, sub string, target *url.URL, resp *http.Response, rt route, sessionID string) {
	if badHeader(resp.Header) {
		p.logf(r.Context(), r.Method, sub, resp.StatusCode, "Ory's response has a header with CR, LF or NUL")
		refuse(w, http.StatusBadGateway)
		return
	}
	if len(resp.Header["Location"]) > 1 {
		p.logf(r.Context(), r.Method, sub, resp.StatusCode, "Ory's response has more than one Location")
		refuse(w, http.StatusBadGateway)
		return
	}
	h := make(http.Header, len(responseHeaders)+5) // copied to w once all is well
	for _, name := range responseHeaders {
		if vs := resp.Header[name]; len(vs) > 0 {
			h[name] = append([]string(nil), vs...)
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		rewritten, err := p.s.location(loc, target)
		if err != nil {
			p.logf(r.Context(), r.Method, sub, resp.StatusCode, "Ory's response has an unparseable Location")
			refuse(w, http.StatusBadGateway)
			return
		}
		h.Set("Location", rewritten)
	}
	cookies, cleared := p.s.setCookies(resp.Header["Set-Cookie"], p.now())
	if len(cookies) > 0 {
		h["Set-Cookie"] = cookies
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		h.Set("Content-Type", ct)
	}
	if resp.StatusCode >= 500 {
		p.logf(r.Context(), r.Method, sub, resp.StatusCode, "Ory answered with a server error")
	}

	var body []byte
	textual := rewritable(resp.Header.Get("Content-Type"))
	rewrite := textual && r.Method != http.MethodHead
	switch {
	case textual && !rewrite:
		// HEAD: Ory's length is that of the body before rewriting; send none.
	case rewrite:
		b, status, why := p.readRewritable(resp)
		if status != 0 {
			p.logf(r.Context(), r.Method, sub, resp.StatusCode, why)
			refuse(w, status)
			return
		}
		body = p.s.body(b)
		h.Set("Content-Length", strconv.Itoa(len(body)))
	default:
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			h.Set("Content-Encoding", ce)
		}
		if resp.ContentLength >= 0 {
			h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
	}

	// The session ended through the proxy: a logout Ory completed by
	// clearing the session cookie, or a session revoked from the settings
	// page. The guard forgets it before the browser hears of it.
	ended := (rt == routeLogout && cleared) || (rt == routeRevoke && resp.StatusCode >= 200 && resp.StatusCode < 300)
	if ended && sessionID != "" && resp.StatusCode < 400 {
		if err := p.guard.ForgetSession(context.WithoutCancel(r.Context()), sessionID); err != nil {
			p.s.log.LogAttrs(r.Context(), slog.LevelWarn, "oryproxy: the guard could not forget a logged-out session everywhere",
				slog.String("error", err.Error()))
		}
	}

	wh := w.Header()
	for name, vs := range h {
		wh[name] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	if rewrite {
		_, _ = w.Write(body)
		return
	}
	if _, err := io.Copy(w, resp.Body); err != nil && r.Context().Err() == nil {
		p.logf(r.Context(), r.Method, sub, resp.StatusCode, "streaming Ory's response: "+cause(err).Error())
	}
}

// readRewritable reads a body to rewrite, decoding gzip, up to the cap.
// Anything it cannot read whole is a non-zero status and the reason.
func (p *Proxy) readRewritable(resp *http.Response) ([]byte, int, string) {
	var rd io.Reader = resp.Body
	switch ce := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, http.StatusBadGateway, "Ory's gzip body is corrupt"
		}
		defer func() { _ = zr.Close() }()
		rd = zr
	default:
		return nil, http.StatusBadGateway, "Ory's body has an encoding the proxy cannot rewrite"
	}
	b, err := io.ReadAll(io.LimitReader(rd, p.s.maxRewrite+1))
	switch {
	case err != nil && timeout(err):
		return nil, http.StatusGatewayTimeout, "reading Ory's body timed out"
	case err != nil:
		return nil, http.StatusBadGateway, "reading Ory's body: " + cause(err).Error()
	case int64(len(b)) > p.s.maxRewrite:
		return nil, http.StatusBadGateway, fmt.Sprintf("Ory's body is over MaxRewriteBytes (%d)", p.s.maxRewrite)
	}
	return b, 0, ""
}

// failed answers a request Ory did not answer: 504 when it ran out of
// time, 502 otherwise; nothing when the browser has gone.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, sub string, err error) {
	if r.Context().Err() != nil {
		return // the browser went away; nobody to answer
	}
	status := http.StatusBadGateway
	if timeout(err) {
		status = http.StatusGatewayTimeout
	}
	p.logf(r.Context(), r.Method, sub, 0, "Ory did not answer: "+cause(err).Error())
	refuse(w, status)
}

// logf writes the one line a failed exchange with Ory gets. It names the
// path below the prefix, never the query (a logout token, a flow ID), a
// cookie or the API key.
func (p *Proxy) logf(ctx context.Context, method, sub string, status int, msg string) {
	attrs := []slog.Attr{slog.String("method", method), slog.String("path", sub), slog.String("error", msg)}
	if status != 0 {
		attrs = append(attrs, slog.Int("ory_status", status))
	}
	p.s.log.LogAttrs(ctx, slog.LevelWarn, "oryproxy: request to Ory failed", attrs...)
}

// cause strips the *url.Error wrapper, whose text holds the full URL with
// its query.
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func timeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// refuse writes the proxy's own short answer.
func refuse(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "oryproxy: "+strings.ToLower(http.StatusText(status))+"\n")
}
