package core

import (
	"net/url"
	"strings"
)

// hasDotSegment reports whether the path of an escaped request target
// (anything before '?') has a "." or ".." segment, also percent-encoded
// (%2e, as browsers read it). Resolved, such a path can climb out of the
// app's path prefix (https://example.com/app/../other), so return_to never
// keeps one.
func hasDotSegment(target string) bool {
	p, _, _ := strings.Cut(target, "?")
	for len(p) > 0 {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		if len(seg) == 0 || len(seg) > 6 {
			continue
		}
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return true
		}
	}
	return false
}

// inApp reports whether an escaped path is within Config.AppURL's path
// prefix (always true without one).
func (g *Guard) inApp(path string) bool {
	if g.appURL == nil {
		return true
	}
	prefix := g.appURL.EscapedPath()
	if prefix == "" || prefix == "/" {
		return true
	}
	p, _, _ := strings.Cut(path, "?")
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// ReturnTo is the return_to value for the request: its path and query,
// prefixed with Config.AppURL when that is set. A path with a dot segment
// ("/../other", "/%2e%2e/other"), which could resolve outside AppURL's path
// prefix, becomes the app's root. It never uses the Host or
// X-Forwarded-Host headers.
func (g *Guard) ReturnTo(r *Request) string {
	return g.absolute(safePath(r.URI))
}

// safePath turns a request target into a same-origin path and query. Any
// target whose path could be read as another host (//host, /\host, the same
// percent-encoded) or that does not parse becomes "/".
func safePath(target string) string {
	if target == "" {
		return "/"
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return "/"
	}
	p := u.EscapedPath()
	if p == "" || p[0] != '/' || len(u.Path) == 0 || u.Path[0] != '/' {
		return "/"
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') || len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
		return "/"
	}
	if strings.ContainsAny(p, "\\") {
		p = strings.ReplaceAll(p, "\\", "%5C")
	}
	if u.RawQuery == "" || u.ForceQuery && u.RawQuery == "" {
		return p
	}
	q := u.RawQuery
	if strings.ContainsAny(q, "\\#") {
		q = strings.NewReplacer("\\", "%5C", "#", "%23").Replace(q)
	}
	return p + "?" + q
}

func (g *Guard) absolute(path string) string {
	if hasDotSegment(path) {
		path = "/" // resolved, it could leave the app's path prefix
	}
	if g.app == "" {
		return path
	}
	return g.app + path
}

// SafeReturnTo checks a return_to value that came from a client (for example
// the return_to query parameter of a refresh or logout route). A relative
// path is kept after sanitising; an absolute URL is kept only when it is on
// Config.AppURL's origin and within its path prefix. A path with a dot
// segment ("..", "%2e%2e") and anything else becomes the app's root.
func (g *Guard) SafeReturnTo(raw string) string {
	if raw == "" {
		return g.absolute("/")
	}
	if strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return g.absolute("/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return g.absolute("/")
	}
	if u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.User == nil {
		if !strings.HasPrefix(raw, "/") {
			return g.absolute("/")
		}
		return g.absolute(safePath(raw))
	}
	if g.appURL == nil || u.User != nil || !strings.EqualFold(u.Scheme, g.appURL.Scheme) ||
		!strings.EqualFold(u.Host, g.appURL.Host) {
		return g.absolute("/")
	}
	target := u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	// Keep the app's own absolute URL, re-rooted on the configured origin,
	// when it stays within AppURL's path prefix.
	target = safePath(target)
	if hasDotSegment(target) || !g.inApp(target) {
		return g.absolute("/")
	}
	return g.appURL.Scheme + "://" + g.appURL.Host + target
}

// queryParam returns one query parameter of the request target.
func queryParam(target, name string) string {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return ""
	}
	return strings.Clone(u.Query().Get(name))
}
