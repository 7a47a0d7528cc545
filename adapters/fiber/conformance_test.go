package oryfiber_test

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every case of the table, with the session cache off
// and on. internal/conformance runs the same target (a copy of this one)
// beside the other adapters and checks that they all answer alike.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryfiber with app.Use in front of a catch-all route and
// serves requests with app.Test (a real fasthttp server over an in-memory
// connection).
type target struct{}

// Name implements conformance.Target.
func (target) Name() string { return "fiber" }

// ReturnsErrors implements conformance.ErrorReturner.
func (target) ReturnsErrors() {}

// newFiber raises fasthttp's ReadBufferSize, which caps the whole request
// header block (default 4096 bytes, answered with 431 beyond), so that the
// oversized-cookie case reaches the guard as it does on the other servers.
func newFiber(onError fiber.ErrorHandler) *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10, ErrorHandler: onError})
}

func fiberServer(app *fiber.App) conformance.Server {
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
}

func fiberPage(c *fiber.Ctx, p conformance.Page) error {
	c.Set(fiber.HeaderContentType, conformance.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return fiberApp(newFiber(nil), oryfiber.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements conformance.Target: the app's ErrorHandler
// reports to the probe.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryfiber.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Next = func(c *fiber.Ctx) bool { return cfg.Skip(c.Path()) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *fiber.Ctx, err error) error {
			switch p := cfg.ErrorHandler(err); {
			case p.Default:
				return oryfiber.DefaultErrorHandler(c, err)
			case p.Return:
				return err
			default:
				return fiberPage(c, p)
			}
		}
	}
	app := newFiber(func(c *fiber.Ctx, err error) error { return fiberPage(c, probe.FrameworkError(err)) })
	return fiberApp(app, oryfiber.New(guard, mc), probe)
}

func fiberApp(app *fiber.App, mw fiber.Handler, probe *conformance.Probe) conformance.Server {
	app.Use(mw)
	app.All("/*", func(c *fiber.Ctx) error {
		body := probe.Observe(conformance.Read(oryfiber.Session(c)), conformance.Read(core.SessionFromContext(c.UserContext())), oryfiber.SessionError(c))
		c.Set(fiber.HeaderContentType, conformance.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return fiberServer(app)
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.RefreshHandler(guard))
	return fiberServer(app)
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.LogoutHandler(guard))
	return fiberServer(app)
}
