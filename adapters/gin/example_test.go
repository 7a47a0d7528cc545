package orygin_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	client "github.com/ory/client-go"
	orygin "github.com/oryguard/oryguard/adapters/gin"
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

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/dashboard", orygin.Middleware(guard), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		c.String(http.StatusOK, "hello %s", person.Email)
	})

	// A browser with the Ory session cookie.
	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	// A browser without one is sent to Ory's login flow.
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard", nil))
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
	page := func(c *gin.Context, err error) {
		var d *core.Denial
		switch {
		case !errors.As(err, &d) || d.API:
			orygin.DefaultErrorHandler(c, err) // JSON for API clients
		case errors.Is(err, errUnverified):
			c.Data(http.StatusForbidden, "text/html; charset=utf-8", []byte("<p>Please verify your email address.</p>"))
		case errors.Is(err, core.ErrNoSession):
			c.Data(http.StatusUnauthorized, "text/html; charset=utf-8", []byte(`<a href="`+html.EscapeString(d.Location)+`">Sign in</a>`))
		default:
			orygin.DefaultErrorHandler(c, err)
		}
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/verified", orygin.MiddlewareWithConfig(guard, orygin.Config{
		ErrorHandler: page,
		Options:      []core.Option{verifiedEmail},
	}), func(c *gin.Context) { c.String(http.StatusOK, "welcome") })

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/verified", nil), // browser, no session
		withHeader(httptest.NewRequest(http.MethodGet, "/verified", nil), "Cookie", "ory_kratos_session=unverified"),
		withHeader(httptest.NewRequest(http.MethodGet, "/verified", nil), "Accept", "application/json"),
	} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.ReplaceAll(rec.Body.String(), ory.URL, "ORY"))
	}
	// Output:
	// 401 <a href="ORY/self-service/login/browser?return_to=%2Fverified">Sign in</a>
	// 403 <p>Please verify your email address.</p>
	// 401 {"error":{"code":401,"status":"Unauthorized","reason":"No valid Ory session was found in the request."},"redirect_browser_to":"ORY/self-service/login/browser?return_to=%2Fverified"}
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}

// A permission check on the object named by the path. Gin matches the
// route before its handlers run, so the middleware can go on the route, a
// group or r.Use.
func Example_permissions() {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("token", orytest.ActiveSession("s-1", "ada@example.com")) // identity "identity-s-1"
	// In production: Keto's read API, or your Ory Network project URL.
	keto := orytest.NewKeto()
	defer keto.Close()
	keto.Allow("Document", "report 2026-Q1", "view", "identity-s-1")

	guard, err := core.New(core.Config{OryURL: ory.URL, Permissions: core.PermissionsConfig{URL: keto.URL}})
	if err != nil {
		log.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/docs/:id", orygin.Middleware(guard, core.Permit("Document", "view", core.PathParam("id"))), func(c *gin.Context) {
		c.String(http.StatusOK, "document %q", c.Param("id"))
	})

	for _, path := range []string{"/docs/report%202026-Q1", "/docs/report%202026-Q2"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Session-Token", "token")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 document "report 2026-Q1"
	// 403 {"error":{"code":403,"status":"Forbidden","reason":"You do not have permission to access this resource."}}
}
