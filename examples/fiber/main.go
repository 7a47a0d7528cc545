// Command fiber is the oryguard example app for Fiber: a public home page,
// a dashboard and a JSON endpoint behind an Ory session, and the login,
// registration, settings and error pages of a self-hosted Kratos.
package main

import (
	"io"
	"log"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/logger"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
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

func newApp(guard *core.Guard, ory *ui.Ory) *fiber.App {
	app := fiber.New(fiber.Config{Views: views{}})
	app.Use(logger.New())
	// Ory on the app's origin, outside the guard: browsers never need Ory's
	// own host, and Ory's cookies are set for this one.
	app.All("/.ory/*", adaptor.HTTPHandler(ory.Proxy))

	app.Get("/", oryfiber.Middleware(guard, core.Optional()), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c) // optional: nil for anonymous visitors
		return c.Render(ui.HomePage, ui.ProfileOf(s))
	})
	app.Get("/dashboard", oryfiber.Middleware(guard), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		if ui.WantsJSON(c.Get(fiber.HeaderAccept)) {
			return c.JSON(ui.ProfileOf(s))
		}
		return c.Render(ui.DashboardPage, ui.ProfileOf(s))
	})
	app.Get("/api/me", oryfiber.Middleware(guard, core.ForceAPI()), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		return c.JSON(ui.ProfileOf(s))
	})
	// A route only some users may open: Ory Permissions decides per
	// document (ui.CanView); mounted on the route (not app.Use), where the router has
	// matched :id.
	app.Get("/docs/:id", oryfiber.Middleware(guard, ui.CanView), func(c *fiber.Ctx) error {
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
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			if ui.Unverified(err) {
				return c.Status(fiber.StatusForbidden).Render(ui.VerifyPage, nil)
			}
			return oryfiber.DefaultErrorHandler(c, err)
		},
		Options: []core.Option{ui.VerifiedEmail},
	}), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		return c.Render(ui.DashboardPage, ui.ProfileOf(s))
	})
	app.Get("/refresh-session", oryfiber.RefreshHandler(guard))
	app.Post("/logout", oryfiber.LogoutHandler(guard)) // a form button: see README
	flows := ory.Flows
	for _, path := range ui.Paths {
		app.Get(path, func(c *fiber.Ctx) error {
			page := flows.Serve(c.UserContext(), path, string(c.Request().URI().QueryString()), c.Get(fiber.HeaderCookie))
			c.Set(fiber.HeaderCacheControl, "no-store")
			if page.Location != "" {
				return c.Redirect(page.Location, page.Status)
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
