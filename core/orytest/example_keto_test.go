package orytest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// An app tests a route that only some users may open against the fake Ory
// and a fake Keto: the test writes the relation tuples, and removes one to
// see the permission go at once (the permission cache is off by default).
// A real app reads the object from its router through its adapter
// (core.PathParam); the handler here reads it from net/http's PathValue.
func ExampleNewKeto() {
	ory := orytest.NewServer()
	defer ory.Close()
	keto := orytest.NewKeto()
	defer keto.Close()
	ory.Session("ada-token", orytest.ActiveSession("session-ada", "ada@example.com"))
	ada := "identity-session-ada" // ActiveSession's identity ID
	viewer := orytest.Tuple{Namespace: "Document", Object: "plans", Relation: "viewer", SubjectID: ada}
	keto.Add(viewer)

	guard, err := core.New(core.Config{OryURL: ory.URL, Permissions: core.PermissionsConfig{URL: keto.URL}})
	if err != nil {
		panic(err)
	}
	route := guard.Route(core.Permit("Document", "viewer", core.PathParam("id")))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /docs/{id}", func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		req.Params = pathValues{r}
		if d := route.Authenticate(r.Context(), &req); !d.Allow {
			w.WriteHeader(d.Status)
			return
		}
		fmt.Fprint(w, "the document")
	})
	get := func(path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Session-Token", "ada-token")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			fmt.Println(path, rec.Code)
			return
		}
		fmt.Println(path, rec.Code, rec.Body)
	}

	get("/docs/plans")
	get("/docs/budget")
	keto.Remove(viewer)
	get("/docs/plans")
	fmt.Println("calls to Keto:", keto.Calls())
	// Output:
	// /docs/plans 200 the document
	// /docs/budget 403
	// /docs/plans 403
	// calls to Keto: 3
}

// pathValues reads net/http's matched path parameters.
type pathValues struct{ r *http.Request }

func (p pathValues) Param(name string) string { return p.r.PathValue(name) }
