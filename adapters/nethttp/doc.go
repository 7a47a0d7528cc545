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
// core.ForceBrowser) are passed to Middleware. Every decision is made by
// package core; this package only translates it.
package oryhttp
