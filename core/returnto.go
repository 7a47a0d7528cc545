package core

import "strings"

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
