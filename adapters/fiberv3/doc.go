// Package oryfiber protects Fiber v3 routes with an Ory session (Ory
// Network or a self-hosted Ory Kratos). It is the Fiber v3 sibling of
// github.com/oryguard/oryguard/adapters/fiber (Fiber v2), name for name.
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	if err != nil {
//		log.Fatal(err)
//	}
//	app := fiber.New()
//	app.Get("/refresh-session", oryfiber.RefreshHandler(guard))
//	app.Get("/logout", oryfiber.LogoutHandler(guard))
//
//	protect := oryfiber.Middleware(guard)
//	app.Get("/dashboard", protect, func(c fiber.Ctx) error {
//		s, _ := oryfiber.Session(c)
//		return c.SendString("hello " + s.Identity.Id)
//	})
//	app.Get("/health", func(c fiber.Ctx) error { return c.SendString("ok") }) // public
//
// Middleware returns a fiber.Handler for app.Use, a group or a single
// route; New takes a Config with Fiber's usual Next function to skip the
// check for some requests.
//
// Guard only what you mean: a Fiber v3 group is prefix middleware, so
// app.Group("/", oryfiber.Middleware(guard)) runs the guard for every route
// registered after it, whatever its path (a /health added later answers
// 303). Pass the middleware as a handler argument of each protected route,
// as above, give the group a real prefix (app.Group("/app", ...)), or skip
// the public paths with Config.Next. Route policies (core.Optional, core.RequireAAL2,
// core.MaxAuthAge, core.ForceAPI, core.ForceBrowser, core.Check) are passed
// as options.
//
// An allowed request continues with c.Next() and the session stored twice:
// in c.Locals (read it with [Session]) and in the request's context, Fiber
// v3's c.Context() (read it with core.SessionFromContext(c.Context())); the
// middleware derives it from the context it finds, so values earlier
// middleware put there with c.SetContext stay. A denied request is handed,
// as a *core.Denial, to Config.ErrorHandler (a fiber.ErrorHandler; nil:
// DefaultErrorHandler, which writes the guard's standard answer: a 303 to
// Ory's login flow for browsers, JSON in Ory's error shape for API clients,
// 429/5xx when Ory fails), and the chain stops there; an error the
// ErrorHandler returns reaches the app's fiber.Config.ErrorHandler once.
// [SessionError] tells a handler on an optional route why it has no session.
//
// The request is read straight from fasthttp (&c.Request().Header), without
// converting it to a net/http request. Fiber reuses request memory and the
// fiber.Ctx once a handler returns; the guard copies whatever it keeps, and
// this package keeps neither the fiber.Ctx nor any request string beyond
// the call. The guard is asked with c.Context() as its context.
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
// Mount the middleware on the route, where Fiber has matched it:
//
//	app.Get("/docs/:id", oryfiber.Middleware(guard,
//		core.Permit("Document", "view", core.PathParam("id"))), document)
//
// Not with app.Use or a group's middleware: Fiber runs those before a
// route with parameters has matched, so the object is empty and every
// request is denied (403, Keto not asked). Fiber hands c.Params the path
// undecoded (unless the app sets Config.UnescapePath) and the middleware
// decodes it; a segment that does not decode denies the request.
//
// Every decision is made by package core; this package only translates it.
package oryfiber
