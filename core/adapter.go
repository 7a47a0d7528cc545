package core

import (
	"errors"
	"net/http"
	"unsafe"
)

// Helpers the adapters share, so that two adapters for the same server
// library (Fiber v2 and v3 on fasthttp) or the same header type
// (net/http) do not each carry their own copy.

// RawHeader is a request header that hands out its bytes without copying,
// as *fasthttp.RequestHeader does (every fasthttp version Fiber v2 and v3
// use). Core imports no server library; the interface is all it needs.
type RawHeader interface {
	Method() []byte
	RequestURI() []byte
	Peek(key string) []byte
	PeekAll(key string) [][]byte
}

// RequestFromRaw reads the facts the guard needs straight from a raw
// header and the request's host (the Fiber adapters pass
// &c.Request().Header and c.Request().Host(): the host of an absolute
// request target, else the Host header, as net/http's Request.Host; never
// X-Forwarded-Host). The strings point into those buffers and are valid
// only as long as they are (for fasthttp, until the handler returns); the
// guard copies whatever it keeps. Every Cookie header is passed on, as
// net/http does. It allocates only the slice of Cookie values.
func RequestFromRaw(h RawHeader, host []byte) Request {
	r := Request{
		Method:        unsafeString(h.Method()),
		URI:           unsafeString(h.RequestURI()),
		Accept:        unsafeString(h.Peek("Accept")),
		ContentType:   unsafeString(h.Peek("Content-Type")),
		SessionToken:  unsafeString(h.Peek("X-Session-Token")),
		Authorization: unsafeString(h.Peek("Authorization")),
		SecFetchSite:  unsafeString(h.Peek("Sec-Fetch-Site")),
		Origin:        unsafeString(h.Peek("Origin")),
		Host:          unsafeString(host),
	}
	for _, v := range h.PeekAll("Cookie") {
		r.Cookies = append(r.Cookies, unsafeString(v))
	}
	return r
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// HeaderAdder is a response header that values can be added to:
// http.Header and *fasthttp.ResponseHeader both are.
type HeaderAdder interface {
	Add(key, value string)
}

// AddHeader adds every value of src to dst (Decision.Header, the
// headers of a denial's standard answer).
func AddHeader(dst HeaderAdder, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// internalError is the answer to an error that is not a *Denial.
var internalError = Decision{
	Status: http.StatusInternalServerError,
	Header: http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	},
	Body: []byte(http.StatusText(http.StatusInternalServerError) + "\n"),
}

// Answer is what an adapter's DefaultErrorHandler writes for err: the
// guard's standard answer when err is (or wraps) a *Denial, a plain-text
// 500 for any other error. Treat its Header and Body as read-only.
func Answer(err error) Decision {
	var d *Denial
	if errors.As(err, &d) && d != nil {
		return d.Decision()
	}
	return internalError
}
