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
// core.ForceBrowser) are passed to Middleware.
//
// An allowed request reaches the next handler with the session stored twice:
// in the Gin context under [SessionKey] (read it with [Session]) and in
// c.Request's context (read it with core.SessionFromContext), so plain
// net/http code called from a Gin handler sees it too. A denied request is
// answered by the middleware (a 303 to Ory's login flow for browsers, JSON
// for API clients, 429/5xx when Ory fails) and the chain is aborted, so no
// later handler runs.
//
// Every decision is made by package core; this package only translates it.
package orygin
