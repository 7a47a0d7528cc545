package core_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// middleware is a complete adapter for net/http: it reads the request into
// a core.Request, asks the route for a Decision and carries it out,
// branching on nothing else. An adapter for another framework does the
// same in that framework's way.
func middleware(guard *core.Guard, opts ...core.Option) func(http.Handler) http.Handler {
	route := guard.Route(opts...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := core.RequestFromHTTP(r)
			d := route.Authenticate(r.Context(), &req)
			core.AddHeader(w.Header(), d.Header) // Set-Cookie from Ory, Location, ...
			if d.Allow {
				// The session (or, on an optional route, why there is
				// none) travels in the request's context.
				next.ServeHTTP(w, core.RequestWithDecision(r, d))
				return
			}
			// d.Denial is the error an app's error handler would render;
			// d.Status and d.Body are the guard's standard answer.
			w.WriteHeader(d.Status)
			_, _ = w.Write(d.Body)
		})
	}
}

// An adapter reads the request into a core.Request, asks the route for a
// decision and carries it out; middleware above is one for net/http. Here
// the "framework" is a plain function, to show the decisions themselves.
func Example_adapter() {
	ory := orytest.NewServer() // stands in for Ory Network or Kratos
	defer ory.Close()
	ory.Session("token-1", orytest.ActiveSession("session-1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL, AppURL: "https://app.example"})
	if err != nil {
		panic(err)
	}
	route := guard.Route() // policy "required"

	// A browser without a session is sent to Ory's login flow.
	d := route.Authenticate(context.Background(), &core.Request{
		Method: "GET", URI: "/dashboard?tab=2", Accept: "text/html",
	})
	fmt.Println(d.Status, d.Header.Get("Location")[len(ory.URL):], d.Denial)

	// An app with a session token gets through, with the session.
	d = route.Authenticate(context.Background(), &core.Request{
		Method: "GET", URI: "/api/me", SessionToken: "token-1",
	})
	fmt.Println(d.Allow, d.Session.Id)

	// Output:
	// 303 /self-service/login/browser?return_to=https%3A%2F%2Fapp.example%2Fdashboard%3Ftab%3D2 oryguard: no valid session
	// true session-1
}
