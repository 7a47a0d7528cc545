package core

import (
	"net/http"
	"strconv"
	"strings"
)

// Request is the framework-neutral view of an incoming request that an
// adapter hands to the guard. Fill it from the request's headers; strings
// may point into memory the framework reuses later (fasthttp): the guard
// copies whatever it keeps beyond the call.
type Request struct {
	// Method is the HTTP method.
	Method string
	// URI is the request target as received: path and raw query
	// (net/http's Request.RequestURI, Fiber's OriginalURL). It is used
	// only to build return_to, after sanitising.
	URI string
	// Accept is the Accept header.
	Accept string
	// ContentType is the Content-Type header.
	ContentType string
	// SessionToken is the X-Session-Token header.
	SessionToken string
	// Authorization is the Authorization header.
	Authorization string
	// Cookies holds the Cookie header values (usually one).
	Cookies []string
}

// credKind says where a credential came from.
type credKind uint8

const (
	credNone credKind = iota
	credToken
	credCookie
	credBearer
	credInvalid // present but malformed: answered as unauthenticated, Ory is not asked
)

// maxSessionCookies bounds how many distinct session cookies one request may
// carry; more cannot come from a real browser session.
const maxSessionCookies = 4

type cookiePair struct{ name, value string }

// credential is the part of a request that is forwarded to Ory.
type credential struct {
	kind    credKind
	token   string // credToken, credBearer
	cookies [maxSessionCookies]cookiePair
	n       int // number of cookies
}

// cookieMatcher decides which cookie names carry an Ory session.
type cookieMatcher struct {
	exact    []string
	prefixes []string
}

func newCookieMatcher(names []string) cookieMatcher {
	if len(names) == 0 {
		names = DefaultSessionCookies
	}
	var m cookieMatcher
	for _, n := range names {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			m.prefixes = append(m.prefixes, p)
		} else {
			m.exact = append(m.exact, n)
		}
	}
	return m
}

func (m *cookieMatcher) match(name string) bool {
	for _, e := range m.exact {
		if name == e {
			return true
		}
	}
	for _, p := range m.prefixes {
		if len(name) > len(p) && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// extract picks the credential the way Ory Kratos does: X-Session-Token,
// then the session cookie(s), then Authorization: Bearer. A credential that
// cannot be valid (empty, too long, too many session cookies) yields
// credInvalid so that Ory is never asked about it; bad bytes in a cookie
// value are caught by credential.valid before any call to Ory.
func (m *cookieMatcher) extract(r *Request, c *credential) {
	if r.SessionToken != "" {
		c.kind = credToken
		c.token = strings.TrimSpace(r.SessionToken)
		if !validToken(c.token) {
			c.kind = credInvalid
		}
		return
	}
	switch m.cookies(r.Cookies, c) {
	case credCookie:
		c.kind = credCookie
		return
	case credInvalid:
		c.kind = credInvalid
		return
	}
	if tok, ok := bearer(r.Authorization); ok {
		c.kind = credBearer
		c.token = tok
		if !validToken(tok) {
			c.kind = credInvalid
		}
		return
	}
	c.kind = credNone
}

// cookies scans Cookie headers for session cookies without allocating.
func (m *cookieMatcher) cookies(headers []string, c *credential) credKind {
	kind := credNone
	for _, h := range headers {
		for len(h) > 0 {
			part := h
			if i := strings.IndexByte(h, ';'); i >= 0 {
				part, h = h[:i], h[i+1:]
			} else {
				h = ""
			}
			eq := strings.IndexByte(part, '=')
			if eq < 0 {
				continue
			}
			name := trimOWS(part[:eq])
			if !m.match(name) {
				continue
			}
			value := trimOWS(part[eq+1:])
			if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if value == "" || len(value) > MaxCredentialLength {
				return credInvalid
			}
			// The bytes are checked (credential.forward) only before Ory is
			// asked: the hit path need not scan them.
			//
			// A browser may hold two cookies of one name (different Domain or
			// Path attributes, or one signed with a retired secret). Kratos
			// uses the first one it can decode, so every one is forwarded, in
			// order, and Kratos chooses: deciding otherwise than Kratos would
			// loop a user between the app and a login flow that sees a valid
			// session. Exact repeats are dropped.
			if c.has(name, value) {
				continue
			}
			if c.n == maxSessionCookies {
				return credInvalid
			}
			c.cookies[c.n] = cookiePair{name, value}
			c.n++
			kind = credCookie
		}
	}
	return kind
}

// trimOWS trims the spaces and tabs that may surround cookie names and
// values.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func (c *credential) has(name, value string) bool {
	for i := range c.n {
		if c.cookies[i] == (cookiePair{name, value}) {
			return true
		}
	}
	return false
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// validToken accepts printable ASCII without spaces, up to
// MaxCredentialLength bytes.
func validToken(s string) bool {
	if s == "" || len(s) > MaxCredentialLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// cookieOctet marks the bytes RFC 6265 allows in a cookie value.
var cookieOctet = func() (t [256]bool) {
	for b := 0x21; b < 0x7f; b++ {
		t[b] = b != '"' && b != ',' && b != ';' && b != '\\'
	}
	return t
}()

// validCookieValue accepts RFC 6265 cookie-octets, up to
// MaxCredentialLength bytes.
func validCookieValue(s string) bool {
	if s == "" || len(s) > MaxCredentialLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !cookieOctet[s[i]] {
			return false
		}
	}
	return true
}

// forward returns the credential as it is sent to Ory, or false when no
// part of it could be a real Ory credential. Cookies whose name or value
// breaks RFC 6265 are dropped, as Go's cookie parser (and so Kratos) drops
// them; the rest are kept in order.
func (c *credential) forward() (credential, bool) {
	if c.kind != credCookie {
		return *c, validToken(c.token)
	}
	out := credential{kind: credCookie}
	for i := range c.n {
		if validCookieName(c.cookies[i].name) && validCookieValue(c.cookies[i].value) {
			out.cookies[out.n] = c.cookies[i]
			out.n++
		}
	}
	return out, out.n > 0
}

// validCookieName accepts an RFC 7230 token (the cookie-name of RFC 6265).
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// tokenChar marks the bytes of an RFC 7230 token.
var tokenChar = func() (t [256]bool) {
	for b := 0x21; b < 0x7f; b++ {
		t[b] = !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(b))
	}
	return t
}()

// cookieHeader renders the session cookies as the Cookie header for Ory.
func (c *credential) cookieHeader() string {
	var b strings.Builder
	for i := range c.n {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.cookies[i].name)
		b.WriteByte('=')
		b.WriteString(c.cookies[i].value)
	}
	return b.String()
}

// isAPI reports whether the client should get JSON rather than redirects:
// it sent a session token, its Accept prefers JSON over HTML, or its body is
// JSON.
func isAPI(r *Request) bool {
	if r.SessionToken != "" {
		return true
	}
	if _, ok := bearer(r.Authorization); ok {
		return true
	}
	if prefersJSON(r.Accept) {
		return true
	}
	return isJSONMediaType(r.ContentType)
}

func isJSONMediaType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || (len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json"))
}

// prefersJSON reports whether an Accept header ranks JSON above HTML.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	jsonQ, htmlQ := -1.0, -1.0
	for len(accept) > 0 {
		var item string
		item, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(item, ";")
		mt = strings.TrimSpace(mt)
		q := qValue(params)
		switch {
		case isJSONMediaType(mt):
			jsonQ = max(jsonQ, q)
		case strings.EqualFold(mt, "text/html"), strings.EqualFold(mt, "application/xhtml+xml"):
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}

// qValue reads the q parameter of one Accept item; absent or malformed is 1.
func qValue(params string) float64 {
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 1
		}
		return q
	}
	return 1
}

// RequestFromHTTP reads the facts the guard needs from a net/http request.
// The net/http, Gin and Echo adapters use it; it allocates nothing.
func RequestFromHTTP(r *http.Request) Request {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	return Request{
		Method:        r.Method,
		URI:           uri,
		Accept:        r.Header.Get("Accept"),
		ContentType:   r.Header.Get("Content-Type"),
		SessionToken:  r.Header.Get("X-Session-Token"),
		Authorization: r.Header.Get("Authorization"),
		Cookies:       r.Header["Cookie"],
	}
}
