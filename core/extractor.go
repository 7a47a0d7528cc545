package core

import (
	"strings"
)

// credKind says where a credential came from.
type credKind uint8

const (
	credNone credKind = iota
	credToken
	credCookie
	credBearer
	credInvalid // present but malformed: answered as unauthenticated, Ory is not asked
)

// inlineCookies is how many session cookies a credential holds without
// allocating; more (planted cookies) spill into credential.extra.
const inlineCookies = 4

// MaxForwardedCookieBytes bounds the Cookie header the guard sends to Ory:
// the session cookies a request carries are forwarded in order while they
// fit, and the rest are dropped (never refused). It is eight cookies of the
// largest size browsers store (4096 bytes), far above what a browser holds
// for one site's session, and far below the 1 MB header limit of Kratos'
// server.
const MaxForwardedCookieBytes = 32 << 10

// dedupCookies bounds how many forwarded cookies are compared for exact
// repeats; beyond it repeats are forwarded as they are (harmless: Kratos
// reads the first it can decode), so a flood of cookies costs linear time.
const dedupCookies = 16

type cookiePair struct{ name, value string }

// credential is the part of a request that is forwarded to Ory.
type credential struct {
	kind    credKind
	token   string // credToken, credBearer
	cookies [inlineCookies]cookiePair
	extra   []cookiePair // cookies beyond inlineCookies
	n       int          // number of cookies
	size    int          // bytes of the Cookie header they make
	checked bool         // every cookie's name and value were checked
	full    bool         // MaxForwardedCookieBytes reached: later cookies are dropped
	loop    bool         // the request carries the login-loop marker (loop.go)
}

// pair returns the i-th session cookie.
func (c *credential) pair(i int) cookiePair {
	if i < inlineCookies {
		return c.cookies[i]
	}
	return c.extra[i-inlineCookies]
}

// cookieMatcher decides which cookie names carry an Ory session.
type cookieMatcher struct {
	exact    []string
	prefixes []string
	loop     string // the login-loop marker's name (loop.go); "" when off
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
// then the session cookie(s), then Authorization: Bearer. A token that
// cannot be valid (empty, too long, bad bytes) yields credInvalid so that
// Ory is never asked about it; session cookies that cannot be a credential
// are dropped (credential.add), and when none is left the next credential
// in Kratos' order is looked at.
func (m *cookieMatcher) extract(r *Request, c *credential) {
	if tok := r.sessionToken(); tok != "" {
		c.kind = credToken
		c.token = strings.TrimSpace(tok)
		if !validToken(c.token) {
			c.kind = credInvalid
		}
		return
	}
	if m.cookies(r, c) == credCookie {
		c.kind = credCookie
		return
	}
	if tok, ok := bearer(r.authorization()); ok {
		c.kind = credBearer
		c.token = tok
		if !validToken(tok) {
			c.kind = credInvalid
		}
		return
	}
	c.kind = credNone
}

// cookies scans the request's Cookie headers for session cookies without
// allocating (unless a request carries more than inlineCookies of them). It
// keeps what Kratos could read as its session cookie, in the order Kratos
// reads it, and drops the rest (see credential.add): other cookies never
// veto the request.
func (m *cookieMatcher) cookies(r *Request, c *credential) credKind {
	if r.raw != nil && r.Cookies == nil {
		for _, h := range r.raw.PeekAll("Cookie") {
			m.cookieHeader(unsafeString(h), c)
		}
	} else {
		for _, h := range r.Cookies {
			m.cookieHeader(h, c)
		}
	}
	if c.n > 0 {
		return credCookie
	}
	return credNone
}

// cookieHeader adds the session cookies of one Cookie header to c.
func (m *cookieMatcher) cookieHeader(h string, c *credential) {
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
			if name == m.loop && name != "" {
				c.loop = true
			}
			continue
		}
		value := trimOWS(part[eq+1:])
		if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		c.add(cookiePair{name, value})
	}
}

// add keeps one session cookie if it could be a credential. The rule,
// which is Kratos' (its cookie store's NewExact with FirstMatcher, reached
// through sessions.Registry.Get, uses the first cookie of its exact
// session-cookie name that it can decode, and Go's cookie parser has
// already dropped malformed ones):
//
//   - a cookie that cannot be a credential is dropped: an empty value, a
//     value over MaxCredentialLength bytes (no browser stores one), or a
//     name or value that breaks RFC 6265 (Go's parser, and so Kratos, never
//     sees it);
//   - every other one is kept, in the order the request carries them, so
//     that Kratos meets them in the order it would; an exact repeat is kept
//     once (if the first did not decode, neither does the repeat);
//   - once the Cookie header they make would exceed MaxForwardedCookieBytes,
//     the rest are dropped.
//
// Cookies of other session-cookie names (ory_session_* beside
// ory_kratos_session, or another project's ory_session_<slug>) are not
// Kratos' cookie; they are forwarded too (the guard cannot know the
// project's exact name) and Kratos ignores them. So no cookie beside the
// real one can make the guard refuse what Kratos would accept.
//
// A lone session cookie's bytes are checked only before Ory is asked
// (credential.forward): the cache-hit path need not scan them.
func (c *credential) add(p cookiePair) {
	if c.full || p.value == "" || len(p.value) > MaxCredentialLength {
		return
	}
	if c.n == 0 && !c.checked {
		c.cookies[0] = p
		c.n, c.size = 1, len(p.name)+1+len(p.value)
		return
	}
	if !c.checked {
		c.checked = true
		if !validPair(c.cookies[0]) {
			c.n, c.size = 0, 0
		}
	}
	if !validPair(p) || c.n <= dedupCookies && c.has(p) {
		return
	}
	size := len(p.name) + 1 + len(p.value)
	if c.n > 0 {
		size += 2 // "; "
	}
	if c.size+size > MaxForwardedCookieBytes {
		c.full = true
		return
	}
	if c.n < inlineCookies {
		c.cookies[c.n] = p
	} else {
		c.extra = append(c.extra, p)
	}
	c.n++
	c.size += size
}

// validPair reports whether Go's cookie parser would read the cookie as
// it is.
func validPair(p cookiePair) bool { return validCookieName(p.name) && validCookieValue(p.value) }

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

func (c *credential) has(p cookiePair) bool {
	for i := range c.n {
		if c.pair(i) == p {
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
// part of it could be a real Ory credential. Session cookies were checked
// by credential.add, except a lone one, which is checked here: a cookie
// whose name or value breaks RFC 6265 is never sent (Go's cookie parser,
// and so Kratos, drops it).
func (c *credential) forward() (credential, bool) {
	if c.kind != credCookie {
		return *c, validToken(c.token)
	}
	if !c.checked && c.n == 1 && !validPair(c.cookies[0]) {
		return credential{kind: credCookie}, false
	}
	return *c, c.n > 0
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
	b.Grow(c.size)
	for i := range c.n {
		p := c.pair(i)
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}
