package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// A route that only some users may open: the session's identity must be a
// viewer of the document named by the path parameter "id", as Ory
// Permissions (Keto) answers. Adapters fill in Request.Params from their
// router; a denial is a 403 that unwraps to ErrPermissionDenied.
func ExamplePermit() {
	ory := orytest.NewServer() // in production: your Ory project URL
	defer ory.Close()
	keto := orytest.NewKeto() // in production: Keto's read API, or empty on Ory Network
	defer keto.Close()
	ory.Session("token-1", orytest.ActiveSession("session-1", "ada@example.com"))
	keto.Allow("Document", "plans", "viewer", "identity-session-1")

	guard, err := core.New(core.Config{
		OryURL:      ory.URL,
		Permissions: core.PermissionsConfig{URL: keto.URL},
	})
	if err != nil {
		panic(err)
	}
	route := guard.Route(core.Permit("Document", "viewer", core.PathParam("id")))

	for _, id := range []string{"plans", "budget"} {
		req := &core.Request{Method: http.MethodGet, URI: "/docs/" + id, SessionToken: "token-1", Params: params{"id": id}}
		d := route.Authenticate(context.Background(), req)
		if d.Allow {
			fmt.Println(id, "allowed")
			continue
		}
		fmt.Println(id, d.Status, errors.Is(d.Denial, core.ErrPermissionDenied), errors.Is(d.Denial, core.ErrForbidden))
	}
	// Output:
	// plans allowed
	// budget 403 true true
}
