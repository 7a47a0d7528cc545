package oryecho

import (
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// sessionKey is the echo.Context key under which the middleware stores the
// verified *client.Session, namespaced by import path so that no
// application key collides with it. Apps read it with Session.
const sessionKey = "github.com/oryguard/oryguard/adapters/echov5.session"

// Config configures MiddlewareWithConfig.
type Config struct {
	// Skipper defines a function to skip the middleware: when it returns
	// true the request goes to the next handler unchecked and without a
	// session. Nil means middleware.DefaultSkipper (never skip).
	Skipper middleware.Skipper

	// ErrorHandler answers a denied request. err is a *core.Denial: test it
	// with errors.Is against core's sentinels (core.ErrNoSession, ...) and
	// read its Status, Location and RetryAfter. An error it returns is the
	// middleware's error, so it reaches Echo's HTTPErrorHandler (once);
	// return nil after writing the answer yourself. Nil means
	// DefaultErrorHandler, the guard's standard answer.
	ErrorHandler func(c *echo.Context, err error) error

	// Options is the route policy (core.Optional, core.RequireAAL2, ...).
	// Empty means a session is required.
	Options []core.Option
}

// Middleware protects the routes it is installed on with the guard under
// the given route policy (no options: a session is required). It is
// MiddlewareWithConfig with the default Skipper and ErrorHandler.
func Middleware(guard *core.Guard, opts ...core.Option) echo.MiddlewareFunc {
	return MiddlewareWithConfig(guard, Config{Options: opts})
}

// MiddlewareWithConfig is Middleware with a Skipper and an ErrorHandler.
// An allowed request reaches next with the session in both the Echo
// context and the request's context; every other request is handed to the
// ErrorHandler, whose result the middleware returns (see the package
// documentation).
func MiddlewareWithConfig(guard *core.Guard, cfg Config) echo.MiddlewareFunc {
	route := guard.Route(cfg.Options...)
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if skip(c) {
				return next(c)
			}
			r := c.Request()
			req := core.RequestFromHTTP(r)
			req.Params = (*pathParams)(c)
			d := route.Authenticate(r.Context(), &req)
			if !d.Allow {
				return onError(c, d.Denial)
			}
			core.AddHeader(c.Response().Header(), d.Header)
			c.Set(sessionKey, d.Session)
			c.SetRequest(core.RequestWithDecision(r, d)) // the request copy and the context value in one allocation
			return next(c)
		}
	}
}

// DefaultErrorHandler writes the guard's standard answer for a
// *core.Denial (a 303 to Ory for browsers, JSON in Ory's error shape for
// API clients, 429/5xx when Ory fails) and returns nil, so that Echo's
// HTTPErrorHandler does not answer a second time. Any other error gets a
// plain-text 500. Wrap it to render some denials yourself and leave the
// rest to it.
func DefaultErrorHandler(c *echo.Context, err error) error {
	return write(c, core.Answer(err))
}

// Session returns the session the middleware verified for this request. It
// reports false when the middleware did not run (or skipped the request),
// or ran on an optional route without a session. Treat the session as
// read-only.
func Session(c *echo.Context) (*client.Session, bool) {
	s, err := echo.ContextGet[*client.Session](c, sessionKey)
	return s, err == nil && s != nil
}

// SessionError tells why this request has no session: nil when it has one,
// the *core.Denial on an optional route that ran without one (errors.Is
// core.ErrNoSession: anonymous; core.ErrOryUnavailable and the like: Ory
// failed), core.ErrNoSession when the middleware did not run.
func SessionError(c *echo.Context) error {
	return core.SessionError(c.Request().Context())
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root.
func RefreshHandler(guard *core.Guard) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := core.RequestFromHTTP(c.Request())
		return write(c, guard.RefreshRedirect(&req))
	}
}

// LogoutHandler ends the browser's Ory session: it asks Ory for a logout
// URL for the session cookie and redirects there. Without a session it
// redirects to the return_to query parameter (same app only) or the root;
// when Ory fails it answers 502.
// A request from another site (Sec-Fetch-Site, Origin: see
// core.Guard.LogoutRedirect) gets 403 and is not logged out; mount it for
// POST and log out with a form button. A native client's token is logged
// out through Ory's API (204). The credential leaves the guard's cache.
func LogoutHandler(guard *core.Guard) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := core.RequestFromHTTP(c.Request())
		return write(c, guard.LogoutRedirect(c.Request().Context(), &req))
	}
}

// write carries out a decision that ends the request: headers, status and
// body, and returns nil so that Echo's HTTPErrorHandler does not answer a
// second time. (c.Blob is not used: it would set an empty Content-Type on a
// redirect.)
func write(c *echo.Context, d core.Decision) error {
	w := c.Response()
	core.AddHeader(w.Header(), d.Header)
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body)
	return nil
}
