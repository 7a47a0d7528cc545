package core_test

import (
	"context"
	"fmt"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// An adapter reads the request into a core.Request, asks the route for a
// decision and carries it out. Here the "framework" is a plain function.
func Example() {
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
	fmt.Println(d.Status, d.Header.Get("Location")[len(ory.URL):])

	// An app with a session token gets through, with the session.
	d = route.Authenticate(context.Background(), &core.Request{
		Method: "GET", URI: "/api/me", SessionToken: "token-1",
	})
	type traits struct {
		Email string `json:"email"`
	}
	t, _ := core.Traits[traits](d.Session)
	fmt.Println(d.Allow, d.Session.Id, t.Email)

	// Output:
	// 303 /self-service/login/browser?return_to=https%3A%2F%2Fapp.example%2Fdashboard%3Ftab%3D2
	// true session-1 ada@example.com
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
