// Package oryecho protects Echo v5 routes with an Ory session (Ory Network
// or a self-hosted Ory Kratos). It is the Echo v5 sibling of
// github.com/oryguard/oryguard/adapters/echo (Echo v4), name for name.
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
//	private.GET("/dashboard", func(c *echo.Context) error {
//		s, _ := oryecho.Session(c)
//		return c.String(http.StatusOK, "hello "+s.Identity.Id)
//	})
//
// Middleware returns an echo.MiddlewareFunc for e.Use, a group or a single
// route; MiddlewareWithConfig adds Echo's usual Skipper. Route policies
// (core.Optional, core.RequireAAL2, core.MaxAuthAge, core.ForceAPI,
// core.ForceBrowser, core.Check) are passed as options.
//
// An allowed request reaches the next handler with the session stored twice:
// in the Echo context's store (read it with [Session]) and in the request's
// context (read it with core.SessionFromContext).
//
// A denied request is handed, as a *core.Denial, to Config.ErrorHandler
// (nil: DefaultErrorHandler), and the middleware returns what it returns.
// DefaultErrorHandler writes the guard's standard answer (a 303 to Ory's
// login flow for browsers, JSON in Ory's error shape for API clients,
// 429/5xx when Ory fails) itself and returns nil rather than an error: the
// answer carries headers (Location, Retry-After, Cache-Control) and a body
// in Ory's format that Echo v5's DefaultHTTPErrorHandler would replace with
// {"message": ...}, and Echo runs its HTTPErrorHandler only for a returned
// error, so the denial is answered exactly once. An ErrorHandler of your
// own either writes its page and returns nil, or returns an error, which
// then reaches Echo's HTTPErrorHandler once. Errors of the handlers behind
// the middleware are returned unchanged. [SessionError] tells a handler on
// an optional route why it has no session.
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
// Echo's default router hands c.Param the text still encoded when it
// matched URL.RawPath; the middleware decodes exactly those values. Keep
// RouterConfig.UnescapePathParamValues and UseEscapedPathForMatching off:
// with them values arrive decoded, and would be decoded again.
//
// Every decision is made by package core; this package only translates it.
package oryecho
