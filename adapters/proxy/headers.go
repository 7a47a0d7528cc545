package oryproxy

import (
	"net/http"
	"strings"
	"time"
)

// baseHeaders are the request headers always forwarded to Ory.
var baseHeaders = []string{
	"Accept",
	"Accept-Language",
	"Content-Type",
	"User-Agent",
	"Referer",
	"Origin",
	"X-Session-Token",
}

// hopByHop are the headers that belong to one connection (RFC 9110, 7.6.1).
var hopByHop = map[string]bool{
	"Connection":          true,
	"Keep-Alive":          true,
	"Proxy-Connection":    true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// reservedHeader reports whether a request header may never be added to the
// allow-list: the proxy sets or filters it itself.
func reservedHeader(name string) bool {
	switch name {
	case "", "Host", "Cookie", "Authorization", "Forwarded", "Content-Length", "Accept-Encoding":
		return true
	}
	return hopByHop[name] || strings.HasPrefix(name, "X-Forwarded-") || strings.HasPrefix(name, "Ory-")
}

// responseHeaders are the headers passed back from Ory besides Location,
// Set-Cookie, Content-Type, Content-Length and Content-Encoding, which the
// proxy handles itself. Caching, HSTS, Alt-Svc, NEL, Report-To and CORS
// headers are Ory's origin's business, never the app's.
var responseHeaders = []string{
	"Content-Language",
	"Content-Disposition",
	"Retry-After",
	"X-Content-Type-Options",
	"X-Frame-Options",
	"Referrer-Policy",
}

// outHeader builds the headers of the request to Ory from the browser's.
func (s *settings) outHeader(in http.Header) http.Header {
	out := make(http.Header, len(s.headers)+4)
	for name, vs := range in {
		if s.headers[name] {
			out[name] = append([]string(nil), vs...)
		}
	}
	if s.authz {
		if vs := in["Authorization"]; len(vs) > 0 {
			out["Authorization"] = append([]string(nil), vs...)
		}
	}
	if c := s.cookies.filter(in["Cookie"]); c != "" {
		out.Set("Cookie", c)
	}
	// The proxy rewrites bodies: ask for them as they are (this also stops
	// Go's transport from asking for gzip on its own).
	out.Set("Accept-Encoding", "identity")
	out.Set("Ory-Base-URL-Rewrite", s.proxied)
	out.Set("Ory-No-Custom-Domain-Redirect", "true")
	if s.apiKey != "" {
		out.Set("Ory-Base-URL-Rewrite-Token", s.apiKey)
	}
	return out
}

// badHeader reports whether an upstream header holds a byte no header may
// carry (CR, LF, NUL): such a response is refused, never passed on.
func badHeader(h http.Header) bool {
	for name, vs := range h {
		if strings.ContainsAny(name, "\r\n\x00: ") {
			return true
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return true
			}
		}
	}
	return false
}

// setCookies rewrites Ory's Set-Cookie headers for the app: only Ory's
// cookies pass; Domain becomes the configured cookie domain (or none:
// host-only); Secure follows the app's scheme; SameSite=None becomes Lax
// on plain http, where browsers drop it. It also reports whether one of
// them clears a session cookie (a completed logout).
func (s *settings) setCookies(vs []string, now time.Time) (out []string, clearsSession bool) {
	for _, v := range vs {
		c, err := http.ParseSetCookie(v)
		if err != nil || !s.cookies.match(c.Name) {
			continue
		}
		c.Domain = s.cookieDomain
		c.Secure = s.appHTTPS
		if !s.appHTTPS && c.SameSite == http.SameSiteNoneMode {
			c.SameSite = http.SameSiteLaxMode
		}
		if !s.appHTTPS {
			c.Partitioned = false // needs Secure
		}
		line := c.String()
		if line == "" {
			continue
		}
		out = append(out, line)
		if s.session.match(c.Name) && clears(c, now) {
			clearsSession = true
		}
	}
	return out, clearsSession
}

// clears reports whether a Set-Cookie removes the cookie.
func clears(c *http.Cookie, now time.Time) bool {
	return c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && !c.Expires.After(now))
}

// cookieMatcher matches cookie names: exact names and prefixes (a name
// ending in "*"), each also under the __Host- and __Secure- prefixes.
type cookieMatcher struct {
	exact    map[string]bool
	prefixes []string
}

func newCookieMatcher(names []string) cookieMatcher {
	m := cookieMatcher{exact: make(map[string]bool, len(names))}
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			m.prefixes = append(m.prefixes, p)
		} else {
			m.exact[n] = true
		}
	}
	return m
}

func (m *cookieMatcher) match(name string) bool {
	if rest, ok := strings.CutPrefix(name, "__Host-"); ok {
		name = rest
	} else if rest, ok := strings.CutPrefix(name, "__Secure-"); ok {
		name = rest
	}
	if m.exact[name] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// filter returns a Cookie header holding only the pairs of cookies m
// matches, in their order, or "".
func (m *cookieMatcher) filter(headers []string) string {
	var b strings.Builder
	for _, h := range headers {
		for pair := range strings.SplitSeq(h, ";") {
			pair = strings.TrimSpace(pair)
			name, _, ok := strings.Cut(pair, "=")
			if !ok || !m.match(strings.TrimSpace(name)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(pair)
		}
	}
	return b.String()
}
