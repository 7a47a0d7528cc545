package oryecho_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v5"
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
