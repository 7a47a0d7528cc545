// Package oryecho protects Echo routes with an Ory session (Ory Network or
// a self-hosted Ory Kratos).
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	if err != nil {
//		log.Fatal(err)
//	}
//	e := echo.New()
//	e.GET("/refresh-session", oryecho.RefreshHandler(guard))
//	e.GET("/logout", oryecho.LogoutHandler(guard))
//
//	private := e.Group("", oryecho.Middleware(guard))
//	private.GET("/dashboard", func(c echo.Context) error {
//		s, _ := oryecho.Session(c)
//		return c.String(http.StatusOK, "hello "+s.Identity.Id)
//	})
//
// Middleware returns an echo.MiddlewareFunc for e.Use, a group or a single
// route; MiddlewareWithConfig takes a Config with Echo's usual Skipper, an
// ErrorHandler and the Options. Route policies (core.Optional,
// core.RequireAAL2, core.MaxAuthAge, core.ForceAPI, core.ForceBrowser,
// core.Check) are passed as options.
//
// An allowed request reaches the next handler with the session stored twice:
// in the Echo context (read it with [Session]) and in the request's context
// (read it with core.SessionFromContext).
//
// A denied request goes to the ErrorHandler as a *core.Denial (errors.Is
// against core.ErrNoSession, core.ErrAAL2Required, ...; Status, Location
// and RetryAfter for the renderer), and the middleware returns what it
// returns. The default, DefaultErrorHandler, writes the guard's standard
// answer (a 303 to Ory's login flow for browsers, JSON in Ory's error shape
// for API clients, 429/5xx when Ory fails) and returns nil rather than an
// *echo.HTTPError: that answer carries headers (Location, Retry-After,
// Cache-Control) and a body in Ory's format that the default
// HTTPErrorHandler would replace with {"message": ...}, and with nil the
// global error handler does not run for it. An ErrorHandler of your own may
// instead return an error (an *echo.HTTPError, or the denial itself): the
// middleware hands it to Echo exactly once, and Echo's HTTPErrorHandler
// renders it.
//
//	e.Use(oryecho.MiddlewareWithConfig(guard, oryecho.Config{
//		ErrorHandler: func(c echo.Context, err error) error {
//			var d *core.Denial
//			if errors.As(err, &d) && !d.API && errors.Is(err, core.ErrNoSession) {
//				return c.Render(http.StatusUnauthorized, "login.html", d.Location)
//			}
//			return oryecho.DefaultErrorHandler(c, err)
//		},
//	}))
//
// Middleware that calls c.Error itself (RequestLogger with HandleError)
// runs the HTTPErrorHandler too; Echo's default returns early once the
// response is committed, and a custom one should do the same. Errors of
// the handlers behind the middleware are returned unchanged.
//
// On an optional route, SessionError(c) tells an anonymous visitor
// (core.ErrNoSession) from Ory failing (core.ErrOryUnavailable and the
// like).
//
// core.Check adds a rule of the app's own that a verified session must
// pass (a verified email address, a role in metadata_public): its error
// denies the request with a *core.Denial that unwraps to core.ErrForbidden
// and to that error, so the ErrorHandler can tell it apart with errors.Is
// (Example_customErrorPage); the standard answer is a 403.
//
// # Permissions from the path
//
// core.Permit asks Ory Permissions (Keto), after the session check, whether
// the session's identity has a relation on an object; core.PathParam takes
// the object from the route's path parameter, percent-decoded exactly once
// (as on every adapter: /docs/a%2Fb is the object "a/b").
// Echo runs e.Use, group and route middleware after routing, so they see
// c.Param; e.Pre runs before routing, where the object is empty and every
// request is denied (403, Keto not asked):
//
//	e.GET("/docs/:id", document, oryecho.Middleware(guard,
//		core.Permit("Document", "view", core.PathParam("id"))))
//
// Echo hands c.Param the text still encoded when it matched URL.RawPath;
// the middleware decodes exactly those values.
//
// Every decision is made by package core; this package only translates it.
package oryecho
