// Package orygin protects Gin routes with an Ory session (Ory Network or a
// self-hosted Ory Kratos).
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := gin.New()
//	r.GET("/refresh-session", orygin.RefreshHandler(guard))
//	r.GET("/logout", orygin.LogoutHandler(guard))
//
//	private := r.Group("/", orygin.Middleware(guard))
//	private.GET("/dashboard", func(c *gin.Context) {
//		s, _ := orygin.Session(c)
//		c.String(http.StatusOK, "hello %s", s.Identity.Id)
//	})
//
// Middleware returns a gin.HandlerFunc, so it goes anywhere Gin takes
// middleware: r.Use, a group or a single route. Route policies
// (core.Optional, core.RequireAAL2, core.MaxAuthAge, core.ForceAPI,
// core.ForceBrowser, core.Check) are passed to Middleware.
//
// MiddlewareWithConfig takes a Config with a Skipper (requests it lets
// through unchecked, without asking Ory), an ErrorHandler and the Options.
// The ErrorHandler gets every denial as a *core.Denial (errors.Is against
// core.ErrNoSession, core.ErrAAL2Required, ...; Status, Location and
// RetryAfter for the renderer), and the middleware aborts the chain after
// it. Wrap DefaultErrorHandler, the guard's standard answer, for the rest:
//
//	r.Use(orygin.MiddlewareWithConfig(guard, orygin.Config{
//		ErrorHandler: func(c *gin.Context, err error) {
//			var d *core.Denial
//			if errors.As(err, &d) && !d.API && errors.Is(err, core.ErrNoSession) {
//				c.HTML(http.StatusUnauthorized, "login.html", gin.H{"LoginURL": d.Location})
//				return
//			}
//			orygin.DefaultErrorHandler(c, err)
//		},
//	}))
//
// On an optional route, SessionError(c) tells an anonymous visitor
// (core.ErrNoSession) from Ory failing (core.ErrOryUnavailable and the
// like).
//
// An allowed request reaches the next handler with the session stored twice:
// in the Gin context (read it with [Session]) and in c.Request's context
// (read it with core.SessionFromContext), so plain net/http code called from
// a Gin handler sees it too. A denied request is answered by the
// ErrorHandler (by default a 303 to Ory's login flow for browsers, JSON for
// API clients, 429/5xx when Ory fails) and the chain is aborted, so no later
// handler runs.
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
// Gin matches the route before any of its handlers runs, so r.Use, a group
// and the route itself all see c.Param:
//
//	r.GET("/docs/:id", orygin.Middleware(guard,
//		core.Permit("Document", "view", core.PathParam("id"))), document)
//
// Gin routes on the decoded URL.Path (its default): keep that on routes
// with a path object; the README says why.
//
// Every decision is made by package core; this package only translates it.
package orygin
