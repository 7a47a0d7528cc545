package core

import (
	"net/http"
	"net/url"
	"strings"
	"unsafe"
)

// Request is the framework-neutral view of an incoming request that an
// adapter hands to the guard (see "Writing an adapter" in the package
// documentation); an app that uses an adapter never builds one. Fill it from the request's headers; strings
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
	// SecFetchSite is the Sec-Fetch-Site header. The logout route reads it
	// (a cross-site request is never handed Ory's logout URL), and so does
	// the login-loop check (a page load from another site may be a return
	// from Ory's login).
	SecFetchSite string
	// SecFetchMode is the Sec-Fetch-Mode header: "navigate" for a page
	// load, "cors", "same-origin" or "no-cors" for fetch and XHR. A
	// request that is not a page load gets an API answer (401 JSON rather
	// than a redirect), whatever its Accept says.
	SecFetchMode string
	// SecFetchDest is the Sec-Fetch-Dest header: "document" for a page
	// load; anything else also means an API answer.
	SecFetchDest string
	// Origin is the Origin header; only the logout route reads it.
	Origin string
	// Host is the request's host (net/http's Request.Host, the Host
	// header). The logout route compares it with Origin when Config.AppURL
	// is empty; nothing else reads it (return_to is never built from it).
	Host string

	// Params reads the route's path parameters as the framework matched
	// them, percent-decoded once. Adapters set it (a permission check's
	// object may come from a path parameter: PathParam); nil means the
	// route has none.
	Params Params

	// raw, set by RequestFromRaw, is the header the fields above stand
	// for: a header field left empty is read from it when the guard needs
	// it (see RequestFromRaw for why).
	raw RawHeader
	// hdr, set by RequestFromHTTP, is the same for a net/http header.
	hdr http.Header
}

// Params reads a matched route's path parameters. An adapter implements it
// over its framework's router (net/http's PathValue, Gin's and Echo's
// Param, Fiber's Params), returning the value percent-decoded exactly once
// and "" for a parameter the route does not have.
type Params interface {
	Param(name string) string
}

// UnescapePathParam percent-decodes a path parameter that a router handed
// out still encoded, exactly once, as Params requires: "a%2Fb" is "a/b", a
// "+" stays a "+", and a value that does not decode ("a%zz") is "", which
// a PathParam object turns into a denial. Adapters whose router returns raw
// segments (Echo on URL.RawPath, Fiber without UnescapePath) use it.
func UnescapePathParam(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return ""
	}
	return u
}

// header is v, or, when v is empty and the request came from
// RequestFromRaw, the named header read from the raw header.
func (r *Request) header(v, name string) string {
	if v != "" {
		return v
	}
	if r.hdr != nil {
		return first(r.hdr[name]) // name is canonical, as Header.Get would make it
	}
	if r.raw != nil {
		return unsafeString(r.raw.Peek(name))
	}
	return v
}

func (r *Request) sessionToken() string  { return r.header(r.SessionToken, "X-Session-Token") }
func (r *Request) authorization() string { return r.header(r.Authorization, "Authorization") }
func (r *Request) accept() string        { return r.header(r.Accept, "Accept") }
func (r *Request) contentType() string   { return r.header(r.ContentType, "Content-Type") }
func (r *Request) secFetchSite() string  { return r.header(r.SecFetchSite, "Sec-Fetch-Site") }
func (r *Request) origin() string        { return r.header(r.Origin, "Origin") }
func (r *Request) secFetchMode() string  { return r.header(r.SecFetchMode, "Sec-Fetch-Mode") }
func (r *Request) secFetchDest() string  { return r.header(r.SecFetchDest, "Sec-Fetch-Dest") }

// RequestFromHTTP reads the facts the guard needs from a net/http request.
// The net/http, Gin and Echo adapters use it; it allocates nothing.
//
// It fills Method, URI, Host and the three credential fields
// (SessionToken, Authorization, Cookies), which every request needs; the
// guard reads the other headers from r.Header only when a decision needs
// them (a denial, a logout), so a cache hit costs no lookups it does not
// use. The headers are read as Header.Get reads them, by their canonical
// names (net/http canonicalises the keys of a request it parses, so a
// header sent as "x-session-token" is found).
func RequestFromHTTP(r *http.Request) Request {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	h := r.Header
	return Request{
		Method:        r.Method,
		URI:           uri,
		SessionToken:  first(h["X-Session-Token"]),
		Authorization: first(h["Authorization"]),
		Cookies:       h["Cookie"],
		Host:          r.Host,
		hdr:           h,
	}
}

// first is a header's first value, as Header.Get returns it.
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// RawHeader is a request header that hands out its bytes without copying,
// as *fasthttp.RequestHeader does (every fasthttp version Fiber v2 and v3
// use). Core imports no server library; the interface is all it needs.
type RawHeader interface {
	Method() []byte
	RequestURI() []byte
	Peek(key string) []byte
	PeekAll(key string) [][]byte
}

// RequestFromRaw is the guard's view of a request whose header hands out
// its bytes without copying, and of its host (the Fiber adapters pass
// &c.Request().Header and c.Request().Host(): the host of an absolute
// request target, else the Host header, as net/http's Request.Host; never
// X-Forwarded-Host). It allocates nothing.
//
// Only Method, URI and Host are filled in; every other header is read from
// h when the guard needs it, during the call it is passed to: a cache hit
// reads X-Session-Token and the Cookie headers (every one, as net/http
// passes them on), and nothing else, since each Peek of a fasthttp header
// copies and normalises its key. The strings point into h's buffers and
// are valid only as long as they are (for fasthttp, until the handler
// returns): pass the Request to the guard within the handler; the guard
// copies whatever it keeps.
func RequestFromRaw(h RawHeader, host []byte) Request {
	return Request{
		Method: unsafeString(h.Method()),
		URI:    unsafeString(h.RequestURI()),
		Host:   unsafeString(host),
		raw:    h,
	}
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
