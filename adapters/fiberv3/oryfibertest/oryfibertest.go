// Package oryfibertest mounts oryfiber (Fiber v3) for oryguard's conformance
// suite (core/conformance), which checks every answer an adapter gives
// against one table:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, oryfibertest.Target{}) }
//
// An author of a new adapter can read it as a worked example of a
// conformance.Target.
package oryfibertest

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

// Target mounts oryfiber for core/conformance: adapter authors and the
// repository's end-to-end suite use it. It puts the middleware in front of a
// catch-all route of a fiber.App with app.Use and serves requests with
// app.Test (a real fasthttp server over an in-memory connection), or with
// app.Listener on a loopback port for Listen. Its apps read up to 16 KiB of
// request headers, so that the oversized-cookie rows reach the guard as they
// do on the other servers. Its config form lets the app's ErrorHandler report
// the errors the middleware returns to the probe. For the permission rows
// (conformance.ParamTarget) it mounts the middleware on the route /docs/:id
// itself, not with app.Use, which sees no path parameters.
type Target struct{}

var (
	_ conformance.ErrorReturner = Target{}
	_ conformance.ParamTarget   = Target{}
)

// Name implements conformance.Target.
func (Target) Name() string { return "fiberv3" }

// ReturnsErrors implements conformance.ErrorReturner.
func (Target) ReturnsErrors() {}

// Protected implements conformance.Target.
func (Target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return testServer(protected(newApp(nil), oryfiber.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target: the app's ErrorHandler
// reports to the probe.
func (Target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	return testServer(protected(reporting(probe), oryfiber.New(guard, config(cfg)), probe))
}

// reporting is an app whose ErrorHandler reports to the probe.
func reporting(probe *conformance.Probe) *fiber.App {
	return newApp(func(c fiber.Ctx, err error) error { return page(c, probe.FrameworkError(err)) })
}

// config is the adapter's Config for the suite's settings.
func config(cfg conformance.TargetConfig) oryfiber.Config {
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
	return mc
}

// paramRoute is the route with a path parameter that the ParamTarget
// methods mount.
const paramRoute = "/docs/:id"

// ProtectedParam implements conformance.ParamTarget: the middleware on the
// route itself, where Fiber has matched it.
func (Target) ProtectedParam(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	app := newApp(nil)
	app.All(paramRoute, oryfiber.Middleware(guard, opts...), handler(probe))
	return testServer(app)
}

// ProtectedParamWithConfig implements conformance.ParamTarget: the app's
// ErrorHandler reports to the probe.
func (Target) ProtectedParamWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	app := reporting(probe)
	app.All(paramRoute, oryfiber.New(guard, config(cfg)), handler(probe))
	return testServer(app)
}

// ProtectedGlobal implements conformance.ParamTarget: app.Use, which Fiber
// runs before a route with parameters has matched, so the middleware sees
// none (and denies every request with a PathParam object).
func (Target) ProtectedGlobal(guard *core.Guard, opts []core.Option, probe *conformance.Probe) (conformance.Server, bool) {
	app := newApp(nil)
	app.Use(oryfiber.Middleware(guard, opts...))
	app.All(paramRoute, handler(probe))
	return testServer(app), false
}

// Refresh implements conformance.Target.
func (Target) Refresh(guard *core.Guard) conformance.Server {
	return testServer(route(oryfiber.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (Target) Logout(guard *core.Guard) conformance.Server {
	return testServer(route(oryfiber.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (Target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
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
	app.All("/*", handler(probe))
	return app
}

// handler is the protected handler.
func handler(probe *conformance.Probe) fiber.Handler {
	return func(c fiber.Ctx) error {
		body := probe.Observe(conformance.Read(oryfiber.Session(c)), conformance.Read(core.SessionFromContext(c.Context())), oryfiber.SessionError(c))
		c.Set(fiber.HeaderContentType, conformance.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	}
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
