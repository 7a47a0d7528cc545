// Command nethttp is the oryguard example app for net/http: a public home
// page, a dashboard and a JSON endpoint behind an Ory session, and the
// login, registration, settings and error pages of a self-hosted Kratos.
package main

import (
	"encoding/json"
	"log"
	"net/http"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func main() {
	env := ui.FromEnv()
	guard, err := core.New(env.GuardConfig())
	if err != nil {
		log.Fatal(err)
	}
	ory, err := ui.NewOry(env.OryURL, env.Origin(), guard, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (Ory at %s, served to browsers at %s)", env.Addr, env.OryURL, ory.Proxy.URL())
	log.Fatal(http.ListenAndServe(env.Addr, newMux(guard, ory)))
}

func newMux(guard *core.Guard, ory *ui.Ory) *http.ServeMux {
	mux := http.NewServeMux()
	// Ory on the app's origin, outside the guard: browsers never need Ory's
	// own host, and Ory's cookies are set for this one.
	mux.Handle("/.ory/", ory.Proxy)
	mux.Handle("GET /{$}", oryhttp.Middleware(guard, core.Optional())(http.HandlerFunc(home)))
	mux.Handle("GET /dashboard", oryhttp.Middleware(guard)(http.HandlerFunc(dashboard)))
	mux.Handle("GET /api/me", oryhttp.Middleware(guard, core.ForceAPI())(http.HandlerFunc(me)))
	// A route with an app rule and a custom error page: browsers whose email
	// is not verified see VerifyPage, every other denial the guard's answer.
	mux.Handle("GET /verified", oryhttp.MiddlewareWithConfig(guard, oryhttp.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if ui.Unverified(err) {
				w.Header().Set("Content-Type", ui.HTML)
				w.WriteHeader(http.StatusForbidden)
				if err := ui.Render(w, ui.VerifyPage, nil); err != nil {
					log.Print(err)
				}
				return
			}
			oryhttp.DefaultErrorHandler(w, r, err)
		},
		Options: []core.Option{ui.VerifiedEmail},
	})(http.HandlerFunc(dashboard)))
	// A route only some users may open: Ory Permissions decides per
	// document (ui.CanView); mounted on the route, where the router has
	// matched {id}.
	mux.Handle("GET /docs/{id}", oryhttp.Middleware(guard, ui.CanView)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oryhttp.Session(r.Context())
		render(w, ui.DocumentPage, ui.DocumentOf(r.PathValue("id"), s))
	})))
	mux.Handle("GET /refresh-session", oryhttp.RefreshHandler(guard))
	mux.Handle("POST /logout", oryhttp.LogoutHandler(guard)) // a form button: see README
	for path, page := range ory.Flows.Pages() {
		mux.Handle("GET "+path, page)
	}
	return mux
}

func home(w http.ResponseWriter, r *http.Request) {
	s, _ := oryhttp.Session(r.Context()) // optional: nil for anonymous visitors
	render(w, ui.HomePage, ui.ProfileOf(s))
}

func dashboard(w http.ResponseWriter, r *http.Request) {
	s, _ := oryhttp.Session(r.Context())
	if ui.WantsJSON(r.Header.Get("Accept")) {
		writeJSON(w, ui.ProfileOf(s))
		return
	}
	render(w, ui.DashboardPage, ui.ProfileOf(s))
}

func me(w http.ResponseWriter, r *http.Request) {
	s, _ := oryhttp.Session(r.Context())
	writeJSON(w, ui.ProfileOf(s))
}

func render(w http.ResponseWriter, page string, data any) {
	w.Header().Set("Content-Type", ui.HTML)
	if err := ui.Render(w, page, data); err != nil {
		log.Print(err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
