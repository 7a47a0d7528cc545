// Package oryfiber protects Fiber (v2) routes with an Ory session (Ory
// Network or a self-hosted Ory Kratos).
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
//	app.Get("/dashboard", protect, func(c *fiber.Ctx) error {
//		s, _ := oryfiber.Session(c)
//		return c.SendString("hello " + s.Identity.Id)
//	})
//	app.Get("/health", func(c *fiber.Ctx) error { return c.SendString("ok") }) // public
//
// Middleware returns a fiber.Handler for app.Use, a group or a single
// route. Guard only what you mean: a Fiber group's handlers are prefix
// middleware, so app.Group("/", oryfiber.Middleware(guard)) runs the guard
// for every route registered after it, whatever its path. Pass the
// middleware as a handler argument of each protected route, as above, give
// the group a real prefix (app.Group("/app", ...)), or skip public paths
// with Config.Next. New takes a Config with Fiber's usual Next function to skip the
// check for some requests (Ory is not asked), an ErrorHandler and the
// Options. Route policies (core.Optional, core.RequireAAL2,
// core.MaxAuthAge, core.ForceAPI, core.ForceBrowser, core.Check) are passed
// as options.
//
// An allowed request continues with c.Next() and the session stored twice:
// in c.Locals (read it with [Session]) and in the user context
// (c.UserContext(); read it with core.SessionFromContext). A denied request
// goes to the ErrorHandler as a *core.Denial (errors.Is against
// core.ErrNoSession, core.ErrAAL2Required, ...; Status, Location and
// RetryAfter for the renderer) and the chain stops there; an error the
// ErrorHandler returns goes to the app's fiber.Config.ErrorHandler. The
// default, DefaultErrorHandler, writes the guard's standard answer (a 303 to
// Ory's login flow for browsers, JSON in Ory's error shape for API clients,
// 429/5xx when Ory fails). Wrap it for the rest:
//
//	app.Use(oryfiber.New(guard, oryfiber.Config{
//		ErrorHandler: func(c *fiber.Ctx, err error) error {
//			var d *core.Denial
//			if errors.As(err, &d) && !d.API && errors.Is(err, core.ErrNoSession) {
//				return c.Status(fiber.StatusUnauthorized).Render("login", fiber.Map{"LoginURL": d.Location})
//			}
//			return oryfiber.DefaultErrorHandler(c, err)
//		},
//	}))
//
// On an optional route, SessionError(c) tells an anonymous visitor
// (core.ErrNoSession) from Ory failing (core.ErrOryUnavailable and the
// like).
//
// The request is read straight from fasthttp, without converting it to a
// net/http request. Fiber reuses request memory once a handler returns; the
// guard copies whatever it keeps, and this package keeps neither the
// *fiber.Ctx nor any request string beyond the call. The guard is asked
// with c.UserContext() as its context.
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
