package oryhttp

import (
	"context"
	"net/http"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// Middleware protects the handlers it wraps with the guard under the given
// route policy. Allowed requests reach next with the session in their
// context; every other request is answered here.
func Middleware(guard *core.Guard, opts ...core.Option) func(http.Handler) http.Handler {
	route := guard.Route(opts...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := core.RequestFromHTTP(r)
			d := route.Authenticate(r.Context(), &req)
			if !d.Allow {
				Write(w, d)
				return
			}
			addHeader(w.Header(), d.Header)
			if d.Session != nil {
				r = r.WithContext(core.ContextWithSession(r.Context(), d.Session))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Session returns the session the middleware verified for the request
// whose context is ctx. It reports false when the middleware did not run or
// the route is optional and there was no session.
func Session(ctx context.Context) (*client.Session, bool) {
	return core.SessionFromContext(ctx)
}

// RefreshHandler sends the browser to Ory to re-authenticate
// (refresh=true), then back to the return_to query parameter (same app
// only) or the app's root: the "/refresh-session" route of Ory's guides.
func RefreshHandler(guard *core.Guard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		Write(w, guard.RefreshRedirect(&req))
	})
}

// LogoutHandler ends the browser's Ory session: it asks Ory for a logout
// URL for the session cookie and redirects there. Without a session it
// redirects to the return_to query parameter (same app only) or the root.
// A request from another site (Sec-Fetch-Site, Origin: see
// core.Guard.LogoutRedirect) gets 403 and is not logged out; mount it for
// POST and log out with a form button. A native client's token is logged
// out through Ory's API (204). The credential leaves the guard's cache.
func LogoutHandler(guard *core.Guard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		Write(w, guard.LogoutRedirect(r.Context(), &req))
	})
}

// Write carries out a denial on w: headers, status and body.
func Write(w http.ResponseWriter, d core.Decision) {
	addHeader(w.Header(), d.Header)
	w.WriteHeader(d.Status)
	if len(d.Body) > 0 {
		_, _ = w.Write(d.Body)
	}
}

func addHeader(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}
