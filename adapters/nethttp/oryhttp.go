package oryhttp

import (
	"context"
	"net/http"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// Config configures MiddlewareWithConfig.
type Config struct {
	// Skipper, when it returns true, lets the request through unchecked and
	// without a session: Ory is not asked. Nil means never skip.
	Skipper func(r *http.Request) bool

	// ErrorHandler answers a denied request. err is a *core.Denial: test it
	// with errors.Is against core's sentinels (core.ErrNoSession, ...) and
	// read its Status, Location and RetryAfter. Nil means
	// DefaultErrorHandler, the guard's standard answer.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Options is the route policy (core.Optional, core.RequireAAL2,
	// core.Check, ...). Empty means a session is required.
	Options []core.Option
}

// Middleware protects the handlers it wraps with the guard under the given
// route policy. Allowed requests reach next with the session in their
// context; every other request is answered with DefaultErrorHandler. It is
// MiddlewareWithConfig with Options alone.
func Middleware(guard *core.Guard, opts ...core.Option) func(http.Handler) http.Handler {
	return MiddlewareWithConfig(guard, Config{Options: opts})
}

// MiddlewareWithConfig is Middleware with a Skipper and an ErrorHandler.
func MiddlewareWithConfig(guard *core.Guard, cfg Config) func(http.Handler) http.Handler {
	route := guard.Route(cfg.Options...)
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.Skipper != nil && cfg.Skipper(r) {
				next.ServeHTTP(w, r)
				return
			}
			req := core.RequestFromHTTP(r)
			req.Params = (*pathParams)(r)
			d := route.Authenticate(r.Context(), &req)
			if !d.Allow {
				onError(w, r, d.Denial)
				return
			}
			core.AddHeader(w.Header(), d.Header)
			next.ServeHTTP(w, core.RequestWithDecision(r, d)) // the request copy and the context value in one allocation
		})
	}
}

// pathParams reads the path parameters net/http's ServeMux matched
// (Request.PathValue, Go 1.22 patterns such as "GET /docs/{id}") for
// core.PathParam. ServeMux matches the escaped path segment by segment and
// percent-decodes each value once, so a value is returned as it is: "a/b"
// for the segment a%2Fb. It is the request itself, converted, so setting
// it allocates nothing.
type pathParams http.Request

// Param implements core.Params.
func (p *pathParams) Param(name string) string {
	return (*http.Request)(p).PathValue(name)
}

// DefaultErrorHandler writes the guard's standard answer for a
// *core.Denial (a 303 to Ory for browsers, JSON in Ory's error shape for
// API clients, 429/5xx when Ory fails). Any other error gets a plain-text
// 500. Wrap it to render some denials yourself and leave the rest to it.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	write(w, core.Answer(err))
}

// Session returns the session the middleware verified for the request
// whose context is ctx. It reports false when the middleware did not run
// (or skipped the request), or the route is optional and there was no
// session.
func Session(ctx context.Context) (*client.Session, bool) {
	return core.SessionFromContext(ctx)
}

// SessionError tells why the request whose context is ctx has no session:
// nil when it has one, the *core.Denial on an optional route that ran
// without one (errors.Is core.ErrNoSession: anonymous; core.ErrOryUnavailable
// and the like: Ory failed), core.ErrNoSession when the middleware did not
// run.
func SessionError(ctx context.Context) error {
	return core.SessionError(ctx)
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root: the "/refresh-session" route of Ory's guides.
func RefreshHandler(guard *core.Guard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		write(w, guard.RefreshRedirect(&req))
	})
}

// LogoutHandler ends the browser's Ory session: it asks Ory for a logout
// URL for the session cookie and redirects there. Without a session it
// redirects to the return_to query parameter (same app only) or the root.
// A request from another site (Sec-Fetch-Site, Origin: see
// core.Guard.LogoutRedirect) gets 403 and is not logged out; mount it for
// POST and log out with a form button. A native client's token is logged
// out through Ory's API (204). The credential leaves the guard's cache.
func LogoutHandler(guard *core.Guard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		write(w, guard.LogoutRedirect(r.Context(), &req))
	})
}

// write carries out a decision that ends the request: headers, status and
// body.
func write(w http.ResponseWriter, d core.Decision) {
	core.AddHeader(w.Header(), d.Header)
	w.WriteHeader(d.Status)
	if len(d.Body) > 0 {
		_, _ = w.Write(d.Body)
	}
}
