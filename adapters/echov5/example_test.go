package oryecho_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"
	client "github.com/ory/client-go"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// fakeGuard returns a guard in front of a fake Ory that knows one session;
// in production OryURL is your Ory Network project URL or Kratos' public
// URL.
func fakeGuard() (guard *core.Guard, stop func()) {
	ory := orytest.NewServer()
	ory.Session("session-cookie-value", orytest.ActiveSession("s-1", "ada@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		log.Fatal(err)
	}
	return guard, ory.Close
}

func Example() {
	guard, stop := fakeGuard()
	defer stop()

	e := echo.New()
	// A page for everyone that greets signed-in visitors.
	e.GET("/", func(c *echo.Context) error {
		if err := oryecho.SessionError(c); errors.Is(err, core.ErrNoSession) {
			return c.String(http.StatusOK, "hello stranger")
		}
		s, _ := oryecho.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		return c.String(http.StatusOK, "hello "+person.Email)
	}, oryecho.Middleware(guard, core.Optional()))
	// A page for signed-in visitors only.
	e.GET("/dashboard", func(c *echo.Context) error {
		return c.String(http.StatusOK, "your dashboard")
	}, oryecho.Middleware(guard))

	for _, path := range []string{"/", "/dashboard"} {
		for _, signedIn := range []bool{true, false} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if signedIn { // a browser with the Ory session cookie
				req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			fmt.Printf("%s signed in %v: %d %q\n", path, signedIn, rec.Code, rec.Body.String())
		}
	}
	// Output:
	// / signed in true: 200 "hello ada@example.com"
	// / signed in false: 200 "hello stranger"
	// /dashboard signed in true: 200 "your dashboard"
	// /dashboard signed in false: 303 ""
}

// The config form: a custom error page for browsers, the guard's standard
// answer for API clients, and an app rule (a verified email) as core.Check.
func Example_customErrorPage() {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("unverified", orytest.ActiveSession("s-1", "ada@example.com")) // no verified address
	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		log.Fatal(err)
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
	page := func(c *echo.Context, err error) error {
		var d *core.Denial
		switch {
		case !errors.As(err, &d) || d.API:
			return oryecho.DefaultErrorHandler(c, err) // JSON for API clients
		case errors.Is(err, errUnverified):
			return c.HTML(http.StatusForbidden, "<p>Please verify your email address.</p>")
		case errors.Is(err, core.ErrNoSession):
			return c.HTML(http.StatusUnauthorized, `<a href="`+html.EscapeString(d.Location)+`">Sign in</a>`)
		}
		return oryecho.DefaultErrorHandler(c, err)
	}

	e := echo.New()
	e.GET("/verified", func(c *echo.Context) error { return c.String(http.StatusOK, "welcome") },
		oryecho.MiddlewareWithConfig(guard, oryecho.Config{ErrorHandler: page, Options: []core.Option{verifiedEmail}}))

	for _, h := range [][2]string{{"Accept", "text/html"}, {"Cookie", "ory_kratos_session=unverified"}, {"Accept", "application/json"}} {
		req := httptest.NewRequest(http.MethodGet, "/verified", nil)
		req.Header.Set(h[0], h[1])
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.ReplaceAll(rec.Body.String(), ory.URL, "ORY"))
	}
	// Output:
	// 401 <a href="ORY/self-service/login/browser?return_to=%2Fverified">Sign in</a>
	// 403 <p>Please verify your email address.</p>
	// 401 {"error":{"code":401,"status":"Unauthorized","reason":"No valid Ory session was found in the request."},"redirect_browser_to":"ORY/self-service/login/browser?return_to=%2Fverified"}
}

// A permission check on the object named by the path. Echo runs route
// (and e.Use) middleware after routing, so the parameter is set. The check
// gets it decoded once; Echo's own c.Param is still encoded when Echo
// matched the raw path, so the handler decodes it the same way.
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
		log.Fatal(err)
	}
	e := echo.New()
	e.GET("/docs/:id", func(c *echo.Context) error {
		id := c.Param("id")
		if c.Request().URL.RawPath != "" {
			id, _ = url.PathUnescape(id)
		}
		return c.String(http.StatusOK, fmt.Sprintf("document %q", id))
	}, oryecho.Middleware(guard, core.Permit("Document", "view", core.PathParam("id"))))

	for _, path := range []string{"/docs/report%202026%2FQ1", "/docs/report%202026%2FQ2"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Session-Token", "token")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 document "report 2026/Q1"
	// 403 {"error":{"code":403,"status":"Forbidden","reason":"You do not have permission to access this resource."}}
}
