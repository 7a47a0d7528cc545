package core

import (
	"context"
	"errors"
	"net/http"

	client "github.com/ory/client-go"
)

// What an adapter carries out (Decision) and the helpers the adapters
// share, so that two adapters for the same server library (Fiber v2 and v3
// on fasthttp) or the same header type (net/http) do not each carry their
// own copy. See "Writing an adapter" in the package documentation.

// Decision is what the guard decided for one request, for adapter authors
// (apps see its outcome as the response, the session in the context, or
// the *Denial their error handler gets). An adapter carries
// it out and branches on nothing else: when Allow is true it runs the next
// handler with Session (nil on an optional route without a session) in the
// request context and adds Header to the response; otherwise it writes
// Header, Status and Body and stops the chain.
type Decision struct {
	// Allow reports whether the next handler runs.
	Allow bool
	// Session is the verified session, or nil.
	Session *client.Session
	// Status is the response status when Allow is false.
	Status int
	// Header holds the response headers to set: Location, Content-Type,
	// Retry-After, Cache-Control, and Set-Cookie when Ory extended the
	// session cookie (also when Allow is true). It may be nil.
	Header http.Header
	// Body is the response body when Allow is false; it may be empty.
	Body []byte
	// Denial is set whenever the request has no verified session: when
	// Allow is false it is the denial (an adapter's ErrorHandler gets it;
	// Status, Header and Body are its standard answer); when Allow is true
	// on an optional route it says why the handler runs without a session
	// (ErrNoSession for an anonymous request, ErrOryUnavailable and the
	// like when Ory failed).
	Denial *Denial
}

func allow(s *client.Session, h http.Header) Decision {
	return Decision{Allow: true, Session: s, Header: h}
}

// Answer is what an adapter's DefaultErrorHandler writes for err: the
// guard's standard answer when err is (or wraps) a *Denial, a plain-text
// 500 for any other error. Treat its Header and Body as read-only.
func Answer(err error) Decision {
	var d *Denial
	if errors.As(err, &d) && d != nil {
		return d.decision()
	}
	return internalError
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

// AddHeader adds every value of src to dst (Decision.Header, the
// headers of a denial's standard answer).
func AddHeader(dst HeaderAdder, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// HeaderAdder is a response header that values can be added to:
// http.Header and *fasthttp.ResponseHeader both are.
type HeaderAdder interface {
	Add(key, value string)
}

// ContextWithDecision returns a copy of ctx that carries what the guard
// decided for an allowed request: the session, or on an optional route
// without one, the *Denial that says why (read back with SessionError).
// It adds one context value: the session or denial pointer itself, with no
// further allocation.
func ContextWithDecision(ctx context.Context, d Decision) context.Context {
	return context.WithValue(ctx, ctxKey{}, decisionValue(d))
}

// RequestWithDecision returns a shallow copy of r whose context carries
// what ContextWithDecision would add (the session, or on an optional route
// without one, the *Denial), like r.WithContext(ContextWithDecision(
// r.Context(), d)) but with one allocation instead of two: the request
// copy and the context value are one object. The net/http, Gin and Echo
// adapters call it for allowed requests.
func RequestWithDecision(r *http.Request, d Decision) *http.Request {
	x := &requestWithDecision{ctx: decisionCtx{Context: r.Context(), v: decisionValue(d)}}
	// WithContext is inlined, so the copy it makes stays on the stack and
	// is copied into x (checked by TestRequestWithDecisionAllocatesOnce).
	x.req = *r.WithContext(&x.ctx)
	return &x.req
}

// requestWithDecision is the one allocation of RequestWithDecision.
type requestWithDecision struct {
	req http.Request
	ctx decisionCtx
}

// decisionCtx is context.WithValue(parent, ctxKey{}, v) as a type whose
// value can live inside another allocation. Cancellation, deadlines and
// every other value come from the parent.
type decisionCtx struct {
	context.Context
	v any
}

// Value returns the guard's value for its key and asks the parent for any
// other.
func (c *decisionCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return c.v
	}
	return c.Context.Value(key)
}

// String names the context in debugging output, as context.WithValue's do.
func (c *decisionCtx) String() string { return "oryguard.decisionCtx" }

// decisionValue is what ContextWithDecision stores for d.
func decisionValue(d Decision) any {
	if d.Session == nil && d.Denial != nil {
		return d.Denial
	}
	return d.Session
}
