package oryfiber_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	client "github.com/ory/client-go"
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
	page := func(c *fiber.Ctx, err error) error {
		var d *core.Denial
		switch {
		case !errors.As(err, &d) || d.API:
			return oryfiber.DefaultErrorHandler(c, err) // JSON for API clients
		case errors.Is(err, errUnverified):
			c.Type("html")
			return c.Status(fiber.StatusForbidden).SendString("<p>Please verify your email address.</p>")
		case errors.Is(err, core.ErrNoSession):
			c.Type("html")
			return c.Status(fiber.StatusUnauthorized).SendString(`<a href="` + html.EscapeString(d.Location) + `">Sign in</a>`)
		}
		return oryfiber.DefaultErrorHandler(c, err)
	}

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/verified", oryfiber.New(guard, oryfiber.Config{ErrorHandler: page, Options: []core.Option{verifiedEmail}}),
		func(c *fiber.Ctx) error { return c.SendString("welcome") })

	for _, h := range [][2]string{{"Accept", "text/html"}, {"Cookie", "ory_kratos_session=unverified"}, {"Accept", "application/json"}} {
		req := httptest.NewRequest(http.MethodGet, "/verified", nil)
		req.Header.Set(h[0], h[1])
		resp, err := app.Test(req, -1)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.ReplaceAll(string(body), ory.URL, "ORY"))
	}
	// Output:
	// 401 <a href="ORY/self-service/login/browser?return_to=%2Fverified">Sign in</a>
	// 403 <p>Please verify your email address.</p>
	// 401 {"error":{"code":401,"status":"Unauthorized","reason":"No valid Ory session was found in the request."},"redirect_browser_to":"ORY/self-service/login/browser?return_to=%2Fverified"}
}

// A permission check on the object named by the path. The middleware goes
// on the route, where Fiber has matched it (with app.Use it would see no
// parameter and deny every request). The check gets the parameter decoded
// once; Fiber's own c.Params is the raw segment, so the handler decodes it
// the same way.
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
	app := fiber.New()
	app.Get("/docs/:id", oryfiber.Middleware(guard, core.Permit("Document", "view", core.PathParam("id"))), func(c *fiber.Ctx) error {
		id, err := url.PathUnescape(c.Params("id"))
		if err != nil {
			return fiber.ErrBadRequest
		}
		return c.SendString(fmt.Sprintf("document %q", id))
	})

	for _, path := range []string{"/docs/report%202026%2FQ1", "/docs/report%202026%2FQ2"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Session-Token", "token")
		resp, err := app.Test(req, -1)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 document "report 2026/Q1"
	// 403 {"error":{"code":403,"status":"Forbidden","reason":"You do not have permission to access this resource."}}
}
