package oryfiber_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
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

	app := fiber.New()
	app.Get("/dashboard", oryfiber.Middleware(guard), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		return c.SendString("hello " + person.Email)
	})

	// A browser with the Ory session cookie.
	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
	resp, err := app.Test(req, -1)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	// A browser without one is sent to Ory's login flow.
	resp, err = app.Test(httptest.NewRequest(http.MethodGet, "/dashboard", nil), -1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 hello ada@example.com
	// 303
}
