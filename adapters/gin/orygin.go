package orygin

import (
	"github.com/gin-gonic/gin"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// sessionKey is the gin.Context key under which the middleware stores the
// verified *client.Session, namespaced by import path so that no
// application key collides with it. Apps read it with Session.
const sessionKey = "github.com/oryguard/oryguard/adapters/gin.session"

// Config configures MiddlewareWithConfig.
type Config struct {
	// Skipper, when it returns true, lets the request through unchecked and
	// without a session: Ory is not asked. Nil means never skip.
	Skipper func(c *gin.Context) bool

	// ErrorHandler answers a denied request; the middleware calls c.Abort()
	// after it. err is a *core.Denial: test it with errors.Is against core's
	// sentinels (core.ErrNoSession, ...) and read its Status, Location and
	// RetryAfter. Nil means DefaultErrorHandler, the guard's standard answer.
	ErrorHandler func(c *gin.Context, err error)

	// Options is the route policy (core.Optional, core.RequireAAL2,
	// core.Check, ...). Empty means a session is required.
	Options []core.Option
}

// Middleware protects the routes it is installed on with the guard under
// the given route policy (no options: a session is required). An allowed
// request continues with c.Next() and the session in both the Gin context
// and c.Request's context; every other request is answered with
// DefaultErrorHandler and the chain is aborted. It is MiddlewareWithConfig
// with Options alone.
func Middleware(guard *core.Guard, opts ...core.Option) gin.HandlerFunc {
	return MiddlewareWithConfig(guard, Config{Options: opts})
}

// MiddlewareWithConfig is Middleware with a Skipper and an ErrorHandler.
func MiddlewareWithConfig(guard *core.Guard, cfg Config) gin.HandlerFunc {
	route := guard.Route(cfg.Options...)
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	return func(c *gin.Context) {
		if cfg.Skipper != nil && cfg.Skipper(c) {
			c.Next()
			return
		}
		req := core.RequestFromHTTP(c.Request)
		req.Params = (*pathParams)(c)
		d := route.Authenticate(c.Request.Context(), &req)
		if !d.Allow {
			onError(c, d.Denial)
			c.Abort() // writing a response alone does not stop later handlers
			return
		}
		core.AddHeader(c.Writer.Header(), d.Header)
		c.Set(sessionKey, d.Session)
		c.Request = core.RequestWithDecision(c.Request, d) // the request copy and the context value in one allocation
		c.Next()
	}
}

// pathParams reads the route's path parameters (c.Param) for
// core.PathParam. With Gin's defaults the router matches c.Request.URL.Path,
// which net/http has already percent-decoded once, so a value is returned
// as it is. It is the Gin context itself, converted, so setting it
// allocates nothing.
type pathParams gin.Context

// Param implements core.Params.
func (p *pathParams) Param(name string) string {
	return (*gin.Context)(p).Param(name)
}

// DefaultErrorHandler writes the guard's standard answer for a
// *core.Denial (a 303 to Ory for browsers, JSON in Ory's error shape for
// API clients, 429/5xx when Ory fails) and aborts the chain. Any other
// error gets a plain-text 500. Wrap it to render some denials yourself and
// leave the rest to it.
func DefaultErrorHandler(c *gin.Context, err error) {
	write(c, core.Answer(err))
}

// Session returns the session Middleware verified for this request. It
// reports false when the middleware did not run, or ran on an optional
// route without a session. Treat the session as read-only.
func Session(c *gin.Context) (*client.Session, bool) {
	v, _ := c.Get(sessionKey)
	s, ok := v.(*client.Session)
	return s, ok && s != nil
}

// SessionError tells why this request has no session: nil when it has one,
// the *core.Denial on an optional route that ran without one (errors.Is
// core.ErrNoSession: anonymous; core.ErrOryUnavailable and the like: Ory
// failed), core.ErrNoSession when the middleware did not run.
func SessionError(c *gin.Context) error {
	return core.SessionError(c.Request.Context())
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root.
func RefreshHandler(guard *core.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		write(c, guard.RefreshRedirect(&req))
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
func LogoutHandler(guard *core.Guard) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		write(c, guard.LogoutRedirect(c.Request.Context(), &req))
	}
}

// write carries out a decision that ends the request: headers, status and
// body, then aborts the chain (writing a response alone does not stop
// later Gin handlers).
func write(c *gin.Context, d core.Decision) {
	core.AddHeader(c.Writer.Header(), d.Header)
	c.AbortWithStatus(d.Status)
	_, _ = c.Writer.Write(d.Body)
}
