// Package oryproxy serves Ory's public browser APIs on the app's own
// origin, so that Ory's session cookie is set for the app's host: no
// `ory tunnel` process and no Ory Network custom domain are needed.
//
// On Ory Network the session cookie belongs to the project's domain
// (<slug>.projects.oryapis.com); a browser never sends it to an app on
// localhost, on a preview deployment or on its own domain, so the guard
// never sees a session. Mount the proxy under /.ory on the app and send
// browsers to Ory through it:
//
//	proxy, err := oryproxy.New(oryproxy.Config{
//		OryURL: "https://<slug>.projects.oryapis.com",
//		AppURL: "https://app.example",
//		APIKey: os.Getenv("ORY_API_KEY"), // Ory Network: email links on the app
//		Guard:  guard,                    // forget sessions logged out through the proxy
//	})
//	if err != nil { ... }
//	mux.Handle("/.ory/", proxy)
//
// What it forwards: only Ory's public browser surface (/self-service/...,
// /sessions/whoami, GET and DELETE /sessions, DELETE /sessions/{id},
// /.well-known/ory/..., /ui/...). Every other path under the prefix, and
// any path that is not clean (".." or "." segments, encoded slashes or
// dots that decode to them, double slashes, backslashes), is answered 404
// and never reaches Ory. Request headers pass through an allow-list;
// the Cookie header keeps only Ory's cookies; Authorization, X-Forwarded-*,
// hop-by-hop headers and every Ory-* header a client sends are dropped.
//
// What it rewrites: Ory's Set-Cookie (Domain, Secure, SameSite) for the
// app, dropping cookies that are not Ory's; a Location on Ory's origin onto
// the app's origin under the prefix (other origins are passed unchanged:
// no open redirect); Ory's base URL in HTML, JSON and text bodies, in its
// JSON-escaped form too. Every answer carries Cache-Control: private,
// no-store and Vary: Cookie. Each forwarded request carries
// Ory-Base-URL-Rewrite (the app's proxied URL), Ory-No-Custom-Domain-Redirect
// and, with an API key, Ory-Base-URL-Rewrite-Token.
//
// The app's origin comes from Config.AppURL only, never from a request's
// Host or X-Forwarded-* headers: a forged Host changes nothing the proxy
// writes.
//
// Pitfalls: mount the proxy outside any global guard (or the guard sends
// Ory's own login page to login); exempt its prefix from the app's own
// CSRF middleware (Ory checks its own CSRF token); and Ory now sees every
// browser arrive from the server's address, so per-IP rate limits on Ory's
// side count the whole app as one client.
package oryproxy
