package oryhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func Example() {
	ory := orytest.NewServer() // in production: your Ory project URL
	defer ory.Close()
	ory.Session("cookie-value", orytest.ActiveSession("session-1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		panic(err)
	}
	dashboard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oryhttp.Session(r.Context())
		t, _ := core.Traits[struct{ Email string }](s)
		fmt.Fprintf(w, "hello %s", t.Email)
	})
	mux := http.NewServeMux()
	mux.Handle("/dashboard", oryhttp.Middleware(guard)(dashboard))
	mux.Handle("/refresh-session", oryhttp.RefreshHandler(guard))
	mux.Handle("/logout", oryhttp.LogoutHandler(guard))
	app := httptest.NewServer(mux)
	defer app.Close()

	req, _ := http.NewRequest(http.MethodGet, app.URL+"/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "cookie-value"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello ada@example.com
}
