package oryproxy

import (
	"bytes"
	"errors"
	"mime"
	"net/url"
	"strings"
)

// errLocation is a Location header the proxy cannot parse.
var errLocation = errors.New("unparseable Location")

// location rewrites a Location header from Ory. A location on Ory's origin
// and below its base path (after resolving a relative one against the
// request's URL on Ory) moves onto the app's origin under the prefix;
// anything else is returned exactly as Ory sent it. Origins are compared
// parsed (scheme, host, port), so https://ory.example@evil.example is not
// Ory's.
func (s *settings) location(raw string, req *url.URL) (string, error) {
	loc, err := url.Parse(raw)
	if err != nil {
		return "", errLocation
	}
	abs := req.ResolveReference(loc)
	if abs.User != nil || !sameOrigin(abs, s.ory) {
		return raw, nil
	}
	rest := abs.EscapedPath()
	if s.ory.Path != "" {
		r, ok := strings.CutPrefix(rest, s.ory.Path)
		if !ok || (r != "" && r[0] != '/') {
			return raw, nil // Ory's host, but not Ory's path
		}
		rest = r
	}
	out := s.proxied + rest
	if out == s.proxied {
		out += "/"
	}
	if abs.RawQuery != "" || abs.ForceQuery {
		out += "?" + abs.RawQuery
	}
	if abs.Fragment != "" {
		out += "#" + abs.EscapedFragment()
	}
	return out, nil
}

// sameOrigin compares two absolute URLs' scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// rewritable reports whether a response body of this Content-Type carries
// URLs the proxy rewrites: HTML, JSON, JavaScript, XML and other text.
func rewritable(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/javascript", mt == "application/ecmascript", mt == "application/x-javascript",
		mt == "application/xml", strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// body replaces Ory's base URL with the app's proxied URL in a text body,
// in plain and in JSON-escaped ("https:\/\/...") form. A match counts only
// where the URL ends (not followed by a character that would continue its
// host, port or path segment), so https://ory.example does not match
// inside https://ory.example.evil.example or https://ory.example@evil.
func (s *settings) body(b []byte) []byte {
	b = replaceURL(b, s.oryBase, s.proxied)
	return replaceURL(b, strings.ReplaceAll(s.oryBase, "/", `\/`), strings.ReplaceAll(s.proxied, "/", `\/`))
}

func replaceURL(b []byte, from, to string) []byte {
	f := []byte(from)
	if !bytes.Contains(b, f) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	for {
		i := bytes.Index(b, f)
		if i < 0 {
			return append(out, b...)
		}
		end := i + len(f)
		if end < len(b) && continuesURL(b[end]) {
			out = append(out, b[:end]...)
		} else {
			out = append(out, b[:i]...)
			out = append(out, to...)
		}
		b = b[end:]
	}
}

// continuesURL reports whether c after a base URL makes it a different
// host, port or path segment.
func continuesURL(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:@%+", c) >= 0
}
