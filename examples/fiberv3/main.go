// Command fiberv3 is the oryguard example app for Fiber v3: a public home
// page, a dashboard and a JSON endpoint behind an Ory session, and the
// login, registration, settings and error pages of a self-hosted Kratos.
package main

import (
	"io"
	"log"
	"net/url"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/logger"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func main() {
	env := ui.FromEnv()
	guard, err := core.New(env.GuardConfig())
	if err != nil {
		log.Fatal(err)
	}
	ory, err := ui.NewOry(env.OryURL, env.Origin(), guard, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("Ory at %s, served to browsers at %s", env.OryURL, ory.Proxy.URL())
	log.Fatal(newApp(guard, ory).Listen(env.Addr))
}

// profile answers the signed-in visitor's profile as the page name (or as
// JSON when asJSON says so); the session is nil for anonymous visitors.
func profile(page string, asJSON func(c fiber.Ctx) bool) fiber.Handler {
	return func(c fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		if asJSON(c) {
			return c.JSON(ui.ProfileOf(s))
		}
		return c.Render(page, ui.ProfileOf(s))
	}
}

func newApp(guard *core.Guard, ory *ui.Ory) *fiber.App {
	app := fiber.New(fiber.Config{Views: views{}})
	app.Use(logger.New())
	// Ory on the app's origin, outside the guard: browsers never need Ory's
	// own host, and Ory's cookies are set for this one.
	app.All("/.ory/*", adaptor.HTTPHandler(ory.Proxy))

	never := func(fiber.Ctx) bool { return false }
	always := func(fiber.Ctx) bool { return true }
	accepts := func(c fiber.Ctx) bool { return ui.WantsJSON(c.Get(fiber.HeaderAccept)) }
	app.Get("/", oryfiber.Middleware(guard, core.Optional()), profile(ui.HomePage, never))
	app.Get("/dashboard", oryfiber.Middleware(guard), profile(ui.DashboardPage, accepts))
	app.Get("/api/me", oryfiber.Middleware(guard, core.ForceAPI()), profile("", always))
	// A route only some users may open: Ory Permissions decides per
	// document (ui.CanView); mounted on the route (not app.Use), where the router has
	// matched :id.
	app.Get("/docs/:id", oryfiber.Middleware(guard, ui.CanView), func(c fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		// Fiber's c.Params is undecoded; the check decoded it once.
		id, err := url.PathUnescape(c.Params("id"))
		if err != nil {
			return fiber.ErrBadRequest // the guard denied such an ID already
		}
		return c.Render(ui.DocumentPage, ui.DocumentOf(id, s))
	})
	// A route with an app rule and a custom error page: browsers whose email
	// is not verified see VerifyPage, every other denial the guard's answer.
	app.Get("/verified", oryfiber.New(guard, oryfiber.Config{
		ErrorHandler: func(c fiber.Ctx, err error) error {
			if ui.Unverified(err) {
				return c.Status(fiber.StatusForbidden).Render(ui.VerifyPage, nil)
			}
			return oryfiber.DefaultErrorHandler(c, err)
		},
		Options: []core.Option{ui.VerifiedEmail},
	}), profile(ui.DashboardPage, never))
	app.Get("/refresh-session", oryfiber.RefreshHandler(guard))
	app.Post("/logout", oryfiber.LogoutHandler(guard)) // a form button: see README

	flows := ory.Flows
	for _, path := range ui.Paths {
		app.Get(path, func(c fiber.Ctx) error {
			page := flows.Serve(c.Context(), path, string(c.Request().URI().QueryString()), c.Get(fiber.HeaderCookie))
			c.Set(fiber.HeaderCacheControl, "no-store")
			if page.Location != "" {
				return c.Redirect().Status(page.Status).To(page.Location)
			}
			c.Type("html", "utf-8")
			return c.Status(page.Status).Send(page.Body)
		})
	}
	return app
}

// views renders the shared templates for c.Render.
type views struct{}

func (views) Load() error { return nil }

func (views) Render(w io.Writer, name string, data any, _ ...string) error {
	return ui.Render(w, name, data)
}
