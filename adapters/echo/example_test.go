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

	"github.com/labstack/echo/v4"
	client "github.com/ory/client-go"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func Example() {
	// A fake Ory that knows one session; in production OryURL is your Ory
	// Network project URL or Kratos' public URL.
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("session-cookie-value", orytest.ActiveSession("s-1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.GET("/dashboard", func(c echo.Context) error {
		s, _ := oryecho.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		return c.String(http.StatusOK, "hello "+person.Email)
	}, oryecho.Middleware(guard))

	// A browser with the Ory session cookie.
	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	// A browser without one is sent to Ory's login flow.
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200 hello ada@example.com
	// 303
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
	page := func(c echo.Context, err error) error {
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
	e.GET("/verified", func(c echo.Context) error { return c.String(http.StatusOK, "welcome") },
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
	e.GET("/docs/:id", func(c echo.Context) error {
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
