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

// RequestFromRaw is the guard's view of a request whose header hands out
// its bytes without copying, and of its host (the Fiber adapters pass
// &c.Request().Header and c.Request().Host(): the host of an absolute
// request target, else the Host header, as net/http's Request.Host; never
// X-Forwarded-Host). It allocates nothing.
//
// Only Method, URI and Host are filled in; every other header is read from
// h when the guard needs it, during the call it is passed to: a cache hit
// reads X-Session-Token and the Cookie headers (every one, as net/http
// passes them on), and nothing else. fasthttp's Peek copies and
// normalises its key before each scan, so reading all eight headers up
// front made up a tenth of a guarded Fiber request (about 300 ns of a
// 2.5 µs in-process request on the benchmark machine). The strings point
// into h's buffers and are valid only as long as they are (for fasthttp,
// until the handler returns): pass the Request to the guard within the
// handler; the guard copies whatever it keeps.
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
