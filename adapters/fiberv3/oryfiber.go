package oryfiber

import (
	"github.com/gofiber/fiber/v3"
	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// sessionKey is the c.Locals key under which the middleware stores the
// verified *client.Session, namespaced by import path so that no
// application key collides with it. Apps read it with Session.
const sessionKey = "github.com/oryguard/oryguard/adapters/fiberv3.session"

// Config configures New.
type Config struct {
	// Next defines a function to skip the middleware: when it returns true
	// the request goes on unchecked and without a session. Nil means never
	// skip.
	Next func(c fiber.Ctx) bool

	// ErrorHandler answers a denied request. err is a *core.Denial: test it
	// with errors.Is against core's sentinels (core.ErrNoSession, ...) and
	// read its Status, Location and RetryAfter. An error it returns is the
	// middleware's error, so it reaches the app's fiber.Config.ErrorHandler
	// (once). Nil means DefaultErrorHandler, the guard's standard answer.
	ErrorHandler fiber.ErrorHandler

	// Options is the route policy (core.Optional, core.RequireAAL2, ...).
	// Empty means a session is required.
	Options []core.Option
}

// Middleware protects the routes it is installed on with the guard under
// the given route policy (no options: a session is required). It is New
// without a Next function or an ErrorHandler.
func Middleware(guard *core.Guard, opts ...core.Option) fiber.Handler {
	return New(guard, Config{Options: opts})
}

// New returns the middleware for cfg. An allowed request continues with
// c.Next() and the session in both c.Locals and c.Context(); every other
// request is handed to the ErrorHandler, whose result the middleware
// returns.
func New(guard *core.Guard, cfg Config) fiber.Handler {
	route := guard.Route(cfg.Options...)
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	return func(c fiber.Ctx) error {
		if cfg.Next != nil && cfg.Next(c) {
			return c.Next()
		}
		req := request(c)
		req.Params = params(c)
		ctx := c.Context()
		d := route.Authenticate(ctx, &req)
		if !d.Allow {
			return onError(c, d.Denial)
		}
		core.AddHeader(&c.Response().Header, d.Header)
		// What c.Locals(sessionKey, d.Session) does, without its variadic
		// argument: called through the Ctx interface, that slice escapes
		// and cost one allocation per request.
		c.RequestCtx().SetUserValue(sessionKey, d.Session)
		c.SetContext(core.ContextWithDecision(ctx, d))
		return c.Next()
	}
}

// DefaultErrorHandler writes the guard's standard answer for a
// *core.Denial (a 303 to Ory for browsers, JSON in Ory's error shape for
// API clients, 429/5xx when Ory fails) and returns nil. Any other error
// gets a plain-text 500. Wrap it to render some denials yourself and leave
// the rest to it.
func DefaultErrorHandler(c fiber.Ctx, err error) error {
	return write(c, core.Answer(err))
}

// Session returns the session the middleware verified for this request. It
// reports false when the middleware did not run (or skipped the request),
// or ran on an optional route without a session. Treat the session as
// read-only.
func Session(c fiber.Ctx) (*client.Session, bool) {
	s := fiber.Locals[*client.Session](c, sessionKey)
	return s, s != nil
}

// SessionError tells why this request has no session: nil when it has one,
// the *core.Denial on an optional route that ran without one (errors.Is
// core.ErrNoSession: anonymous; core.ErrOryUnavailable and the like: Ory
// failed), core.ErrNoSession when the middleware did not run.
func SessionError(c fiber.Ctx) error {
	return core.SessionError(c.Context())
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root.
func RefreshHandler(guard *core.Guard) fiber.Handler {
	return func(c fiber.Ctx) error {
		req := request(c)
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
func LogoutHandler(guard *core.Guard) fiber.Handler {
	return func(c fiber.Ctx) error {
		req := request(c)
		return write(c, guard.LogoutRedirect(c.Context(), &req))
	}
}

// request is the guard's view of the request, read straight from
// fasthttp's header (core.RequestFromRaw: no copies, and only the headers
// the guard needs). Host is the Host header itself, not c.Hostname(), which
// may follow X-Forwarded-Host.
func request(c fiber.Ctx) core.Request {
	return core.RequestFromRaw(&c.Request().Header, c.Request().Host())
}

// write carries out a decision that ends the request: headers, status and
// body, on fasthttp's response directly (no Content-Type is added to a
// redirect's empty body, so the response carries exactly the headers the
// guard chose, as in the other adapters).
func write(c fiber.Ctx, d core.Decision) error {
	core.AddHeader(&c.Response().Header, d.Header)
	return c.Status(d.Status).Send(d.Body)
}
