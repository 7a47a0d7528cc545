package oryproxy

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// route is what the allow-list says about one path.
type route int

const (
	routeNone   route = iota // not Ory's public browser surface: 404
	routeMethod              // Ory's, but not for this method: 405
	routeOK
	routeLogout // the browser logout: forwarded, then the guard forgets
	routeRevoke // DELETE /sessions/{id}: forwarded, then the guard forgets id
)

// classify checks a path (below the prefix, decoded and clean) and a method
// against Ory's public browser surface.
func classify(method, p string) (route, string) {
	switch {
	case p == "/self-service/logout":
		return allow(method, routeLogout, http.MethodGet, http.MethodHead)
	case strings.HasPrefix(p, "/self-service/"):
		return allow(method, routeOK, http.MethodGet, http.MethodHead, http.MethodPost)
	case p == "/sessions/whoami":
		return allow(method, routeOK, http.MethodGet, http.MethodHead)
	case p == "/sessions":
		return allow(method, routeOK, http.MethodGet, http.MethodHead, http.MethodDelete)
	case strings.HasPrefix(p, "/sessions/") && !strings.Contains(p[len("/sessions/"):], "/"):
		return allow(method, routeRevoke, http.MethodDelete)
	case strings.HasPrefix(p, "/.well-known/ory/"):
		return allow(method, routeOK, http.MethodGet, http.MethodHead)
	case p == "/ui" || strings.HasPrefix(p, "/ui/"):
		return allow(method, routeOK, http.MethodGet, http.MethodHead)
	}
	return routeNone, ""
}

func allow(method string, r route, methods ...string) (route, string) {
	for _, m := range methods {
		if m == method {
			return r, ""
		}
	}
	return routeMethod, strings.Join(methods, ", ")
}

// orySubpath returns the request's path below the prefix, decoded, and its
// escaped form, when it is a clean path: no "." or ".." segment (plain or
// percent-encoded), no empty segment, no trailing slash, no encoded slash
// or backslash, no backslash, no control byte, no "%" left after decoding
// (double encoding). Anything else is refused: it is never sent to Ory.
func (s *settings) orySubpath(u *url.URL) (decoded, escaped string, ok bool) {
	raw := u.EscapedPath()
	if s.prefix != "" {
		rest, found := strings.CutPrefix(raw, s.prefix)
		if !found || !strings.HasPrefix(rest, "/") {
			return "", "", false
		}
		raw = rest
	}
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return "", "", false
	}
	dec, err := url.PathUnescape(raw)
	if err != nil || dec == "" || dec[0] != '/' {
		return "", "", false
	}
	for i := 0; i < len(dec); i++ {
		if c := dec[i]; c < 0x20 || c == 0x7f || c == '\\' || c == '%' {
			return "", "", false
		}
	}
	if path.Clean(dec) != dec {
		return "", "", false
	}
	return dec, raw, true
}
