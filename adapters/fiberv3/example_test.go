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

	"github.com/gofiber/fiber/v3"
	client "github.com/ory/client-go"
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
	page := func(c fiber.Ctx, err error) error {
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

	app := fiber.New()
	app.Get("/verified", oryfiber.New(guard, oryfiber.Config{ErrorHandler: page, Options: []core.Option{verifiedEmail}}),
		func(c fiber.Ctx) error { return c.SendString("welcome") })

	for _, h := range [][2]string{{"Accept", "text/html"}, {"Cookie", "ory_kratos_session=unverified"}, {"Accept", "application/json"}} {
		req := httptest.NewRequest(http.MethodGet, "/verified", nil)
		req.Header.Set(h[0], h[1])
		resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
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
	app.Get("/docs/:id", oryfiber.Middleware(guard, core.Permit("Document", "view", core.PathParam("id"))), func(c fiber.Ctx) error {
		id, err := url.PathUnescape(c.Params("id"))
		if err != nil {
			return fiber.ErrBadRequest
		}
		return c.SendString(fmt.Sprintf("document %q", id))
	})

	for _, path := range []string{"/docs/report%202026%2FQ1", "/docs/report%202026%2FQ2"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Session-Token", "token")
		resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
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
