package oryhttp_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	client "github.com/ory/client-go"
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

// The config form: a custom error page for browsers, the guard's standard
// answer for API clients, and an app rule (a verified email) as core.Check.
func Example_customErrorPage() {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("unverified", orytest.ActiveSession("s-1", "ada@example.com")) // no verified address
	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		panic(err)
	}

	errUnverified := errors.New("verify your email address first")
	verifiedEmail := core.Check(func(_ context.Context, s *client.Session) error {
		for _, a := range s.Identity.VerifiableAddresses {
			if a.Via == "email" && a.Verified {
				return nil
			}
		}
		return errUnverified
	})
	page := func(w http.ResponseWriter, r *http.Request, err error) {
		var d *core.Denial
		switch {
		case !errors.As(err, &d) || d.API:
			oryhttp.DefaultErrorHandler(w, r, err) // JSON for API clients
		case errors.Is(err, errUnverified):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, "<p>Please verify your email address.</p>")
		case errors.Is(err, core.ErrNoSession):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `<a href="%s">Sign in</a>`, html.EscapeString(d.Location))
		default:
			oryhttp.DefaultErrorHandler(w, r, err)
		}
	}
	welcome := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "welcome") })
	mux := http.NewServeMux()
	mux.Handle("/verified", oryhttp.MiddlewareWithConfig(guard, oryhttp.Config{
		ErrorHandler: page,
		Options:      []core.Option{verifiedEmail},
	})(welcome))

	for _, h := range [][2]string{{"Accept", "text/html"}, {"Cookie", "ory_kratos_session=unverified"}, {"Accept", "application/json"}} {
		req := httptest.NewRequest(http.MethodGet, "/verified", nil)
		req.Header.Set(h[0], h[1])
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.ReplaceAll(rec.Body.String(), ory.URL, "ORY"))
	}
	// Output:
	// 401 <a href="ORY/self-service/login/browser?return_to=%2Fverified">Sign in</a>
	// 403 <p>Please verify your email address.</p>
	// 401 {"error":{"code":401,"status":"Unauthorized","reason":"No valid Ory session was found in the request."},"redirect_browser_to":"ORY/self-service/login/browser?return_to=%2Fverified"}
}

// A permission check on the object named by the path: the middleware wraps
// the handler registered on the ServeMux pattern, so that the path value is
// set when the guard reads it.
func Example_permissions() {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("token", orytest.ActiveSession("s-1", "ada@example.com")) // identity "identity-s-1"
	// In production: Keto's read API, or your Ory Network project URL.
	keto := orytest.NewKeto()
	defer keto.Close()
	keto.Allow("Document", "report 2026/Q1", "view", "identity-s-1")

	guard, err := core.New(core.Config{OryURL: ory.URL, Permissions: core.PermissionsConfig{URL: keto.URL}})
	if err != nil {
		panic(err)
	}
	document := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "document %q", r.PathValue("id"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /docs/{id}", oryhttp.Middleware(guard, core.Permit("Document", "view", core.PathParam("id")))(document))
	app := httptest.NewServer(mux)
	defer app.Close()

	for _, path := range []string{"/docs/report%202026%2FQ1", "/docs/report%202026%2FQ2"} {
		req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
		req.Header.Set("X-Session-Token", "token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 document "report 2026/Q1"
	// 403 {"error":{"code":403,"status":"Forbidden","reason":"You do not have permission to access this resource."}}
}
