package mount

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Fiber mounts oryfiber (Fiber v2) with app.Use in front of a catch-all
// route and serves requests with app.Test (a real fasthttp server over an
// in-memory connection).
type Fiber struct{}

// Name implements conformance.Target.
func (Fiber) Name() string { return "fiber" }

// ReturnsErrors implements conformance.ErrorReturner.
func (Fiber) ReturnsErrors() {}

// newFiber raises fasthttp's ReadBufferSize, which caps the whole request
// header block (default 4096 bytes, answered with 431 beyond), so that the
// oversized-cookie case reaches the guard as it does on the other servers.
func newFiber(onError fiber.ErrorHandler) *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10, ErrorHandler: onError})
}

func fiberTest(app *fiber.App) conformance.Server {
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
}

func fiberPage(c *fiber.Ctx, p conformance.Page) error {
	c.Set(fiber.HeaderContentType, conformance.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}

// Protected implements conformance.Target.
func (Fiber) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return fiberProbe(newFiber(nil), oryfiber.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements conformance.Target: the app's
// ErrorHandler reports to the probe.
func (Fiber) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
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
	return fiberProbe(app, oryfiber.New(guard, mc), probe)
}

func fiberProbe(app *fiber.App, mw fiber.Handler, probe *conformance.Probe) conformance.Server {
	app.Use(mw)
	app.All("/*", func(c *fiber.Ctx) error {
		body := probe.Observe(conformance.Read(oryfiber.Session(c)), conformance.Read(core.SessionFromContext(c.UserContext())), oryfiber.SessionError(c))
		c.Set(fiber.HeaderContentType, conformance.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return fiberTest(app)
}

// Refresh implements conformance.Target.
func (Fiber) Refresh(guard *core.Guard) conformance.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.RefreshHandler(guard))
	return fiberTest(app)
}

// Logout implements conformance.Target.
func (Fiber) Logout(guard *core.Guard) conformance.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.LogoutHandler(guard))
	return fiberTest(app)
}

// serveFiber serves routes with a fiber.App on fasthttp, with Fiber's
// default configuration.
func serveFiber(routes ...Route) (*App, error) {
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, rt := range routes {
		h := func(c *fiber.Ctx) error {
			body := rt.Reply(session(oryfiber.Session(c)))
			c.Set(fiber.HeaderContentType, ReplyContentType)
			return c.Send(body)
		}
		if rt.Guard != nil {
			f.Get(rt.Path, oryfiber.Middleware(rt.Guard, rt.Options...), h)
		} else {
			f.Get(rt.Path, h)
		}
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln) }()
	return &App{URL: "http://" + ln.Addr().String(), stop: func() error {
		return f.ShutdownWithTimeout(shutdownTimeout)
	}}, nil
}
