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
// route; MiddlewareWithConfig adds Echo's usual Skipper. Route policies
// (core.Optional, core.RequireAAL2, core.MaxAuthAge, core.ForceAPI,
// core.ForceBrowser) are passed as options.
//
// An allowed request reaches the next handler with the session stored twice:
// in the Echo context under [SessionKey] (read it with [Session]) and in the
// request's context (read it with core.SessionFromContext).
//
// A denied request (a 303 to Ory's login flow for browsers, JSON in Ory's
// error shape for API clients, 429/5xx when Ory fails) is written by the
// middleware itself, which then returns nil rather than an *echo.HTTPError.
// This is deliberate: the guard's answer carries headers (Location,
// Retry-After, Cache-Control) and a body in Ory's format that the default
// HTTPErrorHandler would replace with {"message": ...}, and since the
// response is already committed the global error handler is not run a
// second time for it. Errors of the handlers behind the middleware are
// returned unchanged, so they still reach the error handler.
//
// Every decision is made by package core; this package only translates it.
package oryecho
