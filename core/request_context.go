package core

import (
	"context"
	"net/http"
)

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
