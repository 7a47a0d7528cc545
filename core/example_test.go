package core_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// An app builds one Guard per Ory project, protects its handlers with its
// framework's adapter (oryhttp, orygin, oryecho, oryfiber; here middleware,
// the few lines of Example_adapter, stands in for oryhttp.Middleware) and
// reads the verified session in its handlers.
func Example() {
	ory := orytest.NewServer() // in production: your Ory project URL
	defer ory.Close()
	ory.Session("token-1", orytest.ActiveSession("session-1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL, AppURL: "https://app.example"})
	if err != nil {
		panic(err)
	}
	type person struct {
		Email string `json:"email"`
	}
	dashboard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.SessionFromContext(r.Context())
		p, _ := core.Traits[person](s)
		fmt.Fprintf(w, "hello %s", p.Email)
	})
	mux := http.NewServeMux()
	mux.Handle("/dashboard", middleware(guard)(dashboard))                    // a session is required
	mux.Handle("/settings", middleware(guard, core.RequireAAL2())(dashboard)) // two factors required

	// A browser without a session is sent to Ory's login flow.
	req := httptest.NewRequest(http.MethodGet, "/dashboard?tab=2", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimPrefix(rec.Header().Get("Location"), ory.URL))

	// A client with a session token gets through, with the session.
	req = httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	req.Header.Set("X-Session-Token", "token-1")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)

	// Output:
	// 303 /self-service/login/browser?return_to=https%3A%2F%2Fapp.example%2Fdashboard%3Ftab%3D2
	// 200 hello ada@example.com
}

// Route policies are options; every adapter accepts the same ones.
func ExampleGuard_Route() {
	guard, err := core.New(core.Config{OryURL: "https://demo.projects.oryapis.com"})
	if err != nil {
		panic(err)
	}
	_ = guard.Route()                      // a session is required
	_ = guard.Route(core.Optional())       // with or without a session
	_ = guard.Route(core.RequireAAL2())    // two factors required
	_ = guard.Route(core.MaxAuthAge(15e9)) // authenticated in the last 15 s
	_ = guard.Route(core.ForceAPI())       // always JSON, never redirects
	fmt.Println(guard.StepUpURL("/settings"))
	// Output:
	// https://demo.projects.oryapis.com/self-service/login/browser?aal=aal2&return_to=%2Fsettings
}
