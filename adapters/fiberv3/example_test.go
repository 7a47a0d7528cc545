package oryfiber_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gofiber/fiber/v3"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
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

	app := fiber.New()
	// A page for everyone that greets signed-in visitors.
	app.Get("/", oryfiber.Middleware(guard, core.Optional()), func(c fiber.Ctx) error {
		if err := oryfiber.SessionError(c); errors.Is(err, core.ErrNoSession) {
			return c.SendString("hello stranger")
		}
		s, _ := oryfiber.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		return c.SendString("hello " + person.Email)
	})
	// A page for signed-in visitors only.
	app.Get("/dashboard", oryfiber.Middleware(guard), func(c fiber.Ctx) error {
		return c.SendString("your dashboard")
	})

	for _, path := range []string{"/", "/dashboard"} {
		for _, signedIn := range []bool{true, false} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if signedIn { // a browser with the Ory session cookie
				req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
			}
			resp, err := app.Test(req)
			if err != nil {
				log.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			fmt.Printf("%s signed in %v: %d %q\n", path, signedIn, resp.StatusCode, body)
		}
	}
	// Output:
	// / signed in true: 200 "hello ada@example.com"
	// / signed in false: 200 "hello stranger"
	// /dashboard signed in true: 200 "your dashboard"
	// /dashboard signed in false: 303 ""
}
