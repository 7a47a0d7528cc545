// Package oryhttp protects net/http handlers with an Ory session.
//
//	guard, err := core.New(core.Config{OryURL: os.Getenv("ORY_SDK_URL")})
//	...
//	mux := http.NewServeMux()
//	mux.Handle("/dashboard", oryhttp.Middleware(guard)(dashboard))
//	mux.Handle("/refresh-session", oryhttp.RefreshHandler(guard))
//	mux.Handle("/logout", oryhttp.LogoutHandler(guard))
//
// Middleware returns the standard func(http.Handler) http.Handler, so it
// plugs into http.ServeMux, chi (r.Use) and gorilla/mux (r.Use) without glue.
// Handlers read the session with Session(r.Context()). Route policies
// (core.Optional, core.RequireAAL2, core.MaxAuthAge, core.ForceAPI,
// core.ForceBrowser, core.Check) are passed to Middleware.
//
// MiddlewareWithConfig takes a Config with a Skipper (requests it lets
// through unchecked, without asking Ory), an ErrorHandler and the Options.
// The ErrorHandler gets every denial as a *core.Denial (errors.Is against
// core.ErrNoSession, core.ErrAAL2Required, ...; Status, Location and
// RetryAfter for the renderer), so an app renders its own pages; wrap
// DefaultErrorHandler, the guard's standard answer, for the rest:
//
//	mw := oryhttp.MiddlewareWithConfig(guard, oryhttp.Config{
//		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
//			var d *core.Denial
//			if errors.As(err, &d) && !d.API && errors.Is(err, core.ErrNoSession) {
//				renderLoginPage(w, d.Location) // your page, linking to Ory's login flow
//				return
//			}
//			oryhttp.DefaultErrorHandler(w, r, err)
//		},
//	})
//
// On an optional route, SessionError(r.Context()) tells an anonymous
// visitor (core.ErrNoSession) from Ory failing (core.ErrOryUnavailable and
// the like).
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
// The middleware reads Request.PathValue, which http.ServeMux sets just
// before it calls the handler registered on the pattern, so wrap that
// handler:
//
//	mux.Handle("GET /docs/{id}", oryhttp.Middleware(guard,
//		core.Permit("Document", "view", core.PathParam("id")))(document))
//
// Wrapped around the whole mux, the middleware runs before any pattern has
// matched: the object is empty and every request is denied (403, Keto not
// asked).
//
// Every decision is made by package core; this package only translates it.
package oryhttp
