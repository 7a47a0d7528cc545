package conformance

import (
	"net/http"

	fiberv3 "github.com/gofiber/fiber/v3"
	echov5 "github.com/labstack/echo/v5"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	suite "github.com/oryguard/oryguard/core/conformance"
)

// The current majors of two frameworks, beside their predecessors: Echo v5
// (handlers take *echo.Context) and Fiber v3 (handlers take the fiber.Ctx
// interface). The same targets are in adapters/echov5 and adapters/fiberv3
// (conformance_test.go); keep them in step.

// EchoV5 mounts oryecho (Echo v5) with e.Use in front of a catch-all route.
type EchoV5 struct{}

// Protected implements suite.Target.
func (EchoV5) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	e := echov5.New()
	e.Use(oryechov5.Middleware(guard, opts...))
	return echoV5Serve(e, probe)
}

// ProtectedWithConfig implements suite.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (EchoV5) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
	mc := oryechov5.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Skipper = func(c *echov5.Context) bool { return skip(c.Request().URL.Path) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c *echov5.Context, err error) error {
			p := pick(err)
			if p.Default {
				return oryechov5.DefaultErrorHandler(c, err)
			}
			if p.Return {
				return err
			}
			return c.Blob(p.Status, suite.PageContentType, p.Body)
		}
	}
	e := echov5.New()
	e.HTTPErrorHandler = func(c *echov5.Context, err error) { probe.FrameworkError(err).Write(c.Response()) }
	e.Use(oryechov5.MiddlewareWithConfig(guard, mc))
	return echoV5Serve(e, probe)
}

// Refresh implements suite.Target.
func (EchoV5) Refresh(guard *core.Guard) suite.Server {
	return echoV5Route(oryechov5.RefreshHandler(guard))
}

// Logout implements suite.Target.
func (EchoV5) Logout(guard *core.Guard) suite.Server {
	return echoV5Route(oryechov5.LogoutHandler(guard))
}

// Name implements suite.Target.
func (EchoV5) Name() string { return "echov5" }

// ReturnsErrors implements suite.ErrorReturner.
func (EchoV5) ReturnsErrors() {}

// echoV5Route serves every path with h.
func echoV5Route(h echov5.HandlerFunc) suite.Server {
	e := echov5.New()
	e.Any("/*", h)
	return suite.Recorder(e)
}

// echoV5Serve adds the protected catch-all route to e.
func echoV5Serve(e *echov5.Echo, probe *suite.Probe) suite.Server {
	e.Any("/*", func(c *echov5.Context) error {
		body := probe.Observe(suite.Read(oryechov5.Session(c)), suite.Read(core.SessionFromContext(c.Request().Context())), oryechov5.SessionError(c))
		return c.Blob(http.StatusOK, suite.ProtectedContentType, body)
	})
	return suite.Recorder(e)
}

// FiberV3 mounts oryfiber (Fiber v3) with app.Use in front of a catch-all
// route and serves requests with app.Test (a real fasthttp server over an
// in-memory connection), with a 16 KiB read buffer: fasthttp's default
// (4096 bytes for the whole header block, answered with 431 beyond) would
// stop the oversized-cookie case before the guard.
type FiberV3 struct{}

// Protected implements suite.Target.
func (FiberV3) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	return fiberV3Serve(nil, probe, oryfiberv3.Middleware(guard, opts...))
}

// ProtectedWithConfig implements suite.Target: the app's own ErrorHandler
// reports to the probe.
func (FiberV3) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
	mc := oryfiberv3.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Next = func(c fiberv3.Ctx) bool { return skip(c.Path()) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c fiberv3.Ctx, err error) error {
			p := pick(err)
			if p.Default {
				return oryfiberv3.DefaultErrorHandler(c, err)
			}
			if p.Return {
				return err
			}
			return fiberV3Page(c, p)
		}
	}
	onAppError := func(c fiberv3.Ctx, err error) error { return fiberV3Page(c, probe.FrameworkError(err)) }
	return fiberV3Serve(onAppError, probe, oryfiberv3.New(guard, mc))
}

// Refresh implements suite.Target.
func (FiberV3) Refresh(guard *core.Guard) suite.Server {
	return fiberV3Serve(nil, nil, oryfiberv3.RefreshHandler(guard))
}

// Logout implements suite.Target.
func (FiberV3) Logout(guard *core.Guard) suite.Server {
	return fiberV3Serve(nil, nil, oryfiberv3.LogoutHandler(guard))
}

// Name implements suite.Target.
func (FiberV3) Name() string { return "fiberv3" }

// ReturnsErrors implements suite.ErrorReturner.
func (FiberV3) ReturnsErrors() {}

// fiberV3Serve serves every path with h, followed by the protected handler
// when probe is set.
func fiberV3Serve(onAppError fiberv3.ErrorHandler, probe *suite.Probe, h fiberv3.Handler) suite.Server {
	app := fiberv3.New(fiberv3.Config{ReadBufferSize: 16 << 10, ErrorHandler: onAppError})
	if probe == nil {
		app.All("/*", h)
	} else {
		app.All("/*", h, func(c fiberv3.Ctx) error {
			body := probe.Observe(suite.Read(oryfiberv3.Session(c)), suite.Read(core.SessionFromContext(c.Context())), oryfiberv3.SessionError(c))
			c.Set(fiberv3.HeaderContentType, suite.ProtectedContentType)
			return c.Status(http.StatusOK).Send(body)
		})
	}
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, fiberv3.TestConfig{Timeout: 0}) }
}

func fiberV3Page(c fiberv3.Ctx, p suite.Page) error {
	c.Set(fiberv3.HeaderContentType, suite.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}
