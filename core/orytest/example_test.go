package orytest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// newApp builds the app under test against Ory at oryURL, exactly as in
// production. A real app protects its routes with its framework's adapter
// (for net/http, oryhttp.Middleware(guard)); the core calls in the handler
// stand in for it here.
func newApp(oryURL string) http.Handler {
	guard, err := core.New(core.Config{OryURL: oryURL})
	if err != nil {
		panic(err)
	}
	route := guard.Route()
	mux := http.NewServeMux()
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		d := route.Authenticate(r.Context(), &req)
		core.AddHeader(w.Header(), d.Header)
		if !d.Allow {
			w.WriteHeader(d.Status)
			return
		}
		t, _ := core.Traits[struct{ Email string }](d.Session)
		fmt.Fprint(w, t.Email)
	})
	return mux
}

// An app tests its protected handlers against the fake Ory server: it
// registers the session each credential stands for, points the app at
// the server's URL and sends requests with a session cookie (a browser)
// or a session token (a native app).
func Example() {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("cookie-value", orytest.ActiveSession("session-1", "ada@example.com"))
	ory.Session("token-value", orytest.ActiveSession("session-2", "grace@example.com"))
	app := newApp(ory.URL)

	serve := func(req *http.Request) {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		switch loc := rec.Header().Get("Location"); {
		case loc != "":
			fmt.Println(rec.Code, strings.TrimPrefix(loc, ory.URL))
		case rec.Body.Len() > 0:
			fmt.Println(rec.Code, rec.Body)
		default:
			fmt.Println(rec.Code)
		}
	}

	// A browser with its session cookie.
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "cookie-value"})
	serve(req)

	// A native app with its session token.
	req = httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("X-Session-Token", "token-value")
	serve(req)

	// A browser without a session is sent to log in.
	req = httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Accept", "text/html")
	serve(req)

	// Ory no longer knows the token (revoked): the app answers 401.
	ory.Reply("token-value", orytest.Reply{Status: http.StatusUnauthorized, Body: orytest.Unauthorized()})
	req = httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("X-Session-Token", "token-value")
	serve(req)

	fmt.Println(ory.Calls(), "whoami calls")
	// Output:
	// 200 ada@example.com
	// 200 grace@example.com
	// 303 /self-service/login/browser?return_to=%2Fme
	// 401
	// 3 whoami calls
}
