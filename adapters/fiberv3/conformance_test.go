package oryfiber_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryfiber (Fiber v3) with app.Use in front of a catch-all route and
// serves requests with app.Test (a real fasthttp server over an in-memory
// connection).
type target struct{}

// Name implements conformance.Target.
func (target) Name() string { return "fiberv3" }

// ReturnsErrors implements conformance.ErrorReturner.
func (target) ReturnsErrors() {}

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return testServer(protected(newApp(nil), oryfiber.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target: the app's ErrorHandler
// reports to the probe.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryfiber.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Next = func(c fiber.Ctx) bool { return cfg.Skip(c.Path()) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c fiber.Ctx, err error) error {
			switch p := cfg.ErrorHandler(err); {
			case p.Default:
				return oryfiber.DefaultErrorHandler(c, p.Err)
			case p.Return:
				return err
			default:
				return page(c, p)
			}
		}
	}
	app := newApp(func(c fiber.Ctx, err error) error { return page(c, probe.FrameworkError(err)) })
	return testServer(protected(app, oryfiber.New(guard, mc), probe))
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return testServer(route(oryfiber.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return testServer(route(oryfiber.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	app := protected(newApp(nil), oryfiber.Middleware(guard), probe)
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// newApp raises fasthttp's ReadBufferSize, which caps the whole request
// header block (default 4096 bytes, answered with 431 beyond), so that the
// oversized-cookie rows reach the guard as they do on the other servers.
func newApp(onError fiber.ErrorHandler) *fiber.App {
	return fiber.New(fiber.Config{ReadBufferSize: 16 << 10, ErrorHandler: onError})
}

// protected puts mw in front of the protected handler on every path of app.
func protected(app *fiber.App, mw fiber.Handler, probe *conformance.Probe) *fiber.App {
	app.Use(mw)
	app.All("/*", func(c fiber.Ctx) error {
		body := probe.Observe(conformance.Read(oryfiber.Session(c)), conformance.Read(core.SessionFromContext(c.Context())), oryfiber.SessionError(c))
		c.Set(fiber.HeaderContentType, conformance.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return app
}

// route serves every path with h.
func route(h fiber.Handler) *fiber.App {
	app := newApp(nil)
	app.All("/*", h)
	return app
}

// testServer serves requests with app.Test.
func testServer(app *fiber.App) conformance.Server {
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, fiber.TestConfig{Timeout: 0}) }
}

// page writes p.
func page(c fiber.Ctx, p conformance.Page) error {
	c.Set(fiber.HeaderContentType, conformance.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}
