package mount

import (
	"net/http"

	fiberv3 "github.com/gofiber/fiber/v3"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// FiberV3 mounts oryfiber (Fiber v3, whose handlers take the fiber.Ctx
// interface) with app.Use in front of a catch-all route and serves requests
// with app.Test (a real fasthttp server over an in-memory connection), with
// a 16 KiB read buffer: fasthttp's default (4096 bytes for the whole header
// block, answered with 431 beyond) would stop the oversized-cookie case
// before the guard.
type FiberV3 struct{}

// Name implements conformance.Target.
func (FiberV3) Name() string { return "fiberv3" }

// ReturnsErrors implements conformance.ErrorReturner.
func (FiberV3) ReturnsErrors() {}

// Protected implements conformance.Target.
func (FiberV3) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return fiberV3Probe(nil, probe, oryfiberv3.Middleware(guard, opts...))
}

// ProtectedWithConfig implements conformance.Target: the app's own
// ErrorHandler reports to the probe.
func (FiberV3) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryfiberv3.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Next = func(c fiberv3.Ctx) bool { return skip(c.Path()) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c fiberv3.Ctx, err error) error {
			switch p := pick(err); {
			case p.Default:
				return oryfiberv3.DefaultErrorHandler(c, err)
			case p.Return:
				return err
			default:
				return fiberV3Page(c, p)
			}
		}
	}
	onAppError := func(c fiberv3.Ctx, err error) error { return fiberV3Page(c, probe.FrameworkError(err)) }
	return fiberV3Probe(onAppError, probe, oryfiberv3.New(guard, mc))
}

// Refresh implements conformance.Target.
func (FiberV3) Refresh(guard *core.Guard) conformance.Server {
	return fiberV3Probe(nil, nil, oryfiberv3.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (FiberV3) Logout(guard *core.Guard) conformance.Server {
	return fiberV3Probe(nil, nil, oryfiberv3.LogoutHandler(guard))
}

// fiberV3Probe serves every path with h, followed by the protected handler
// when probe is set.
func fiberV3Probe(onAppError fiberv3.ErrorHandler, probe *conformance.Probe, h fiberv3.Handler) conformance.Server {
	app := fiberv3.New(fiberv3.Config{ReadBufferSize: 16 << 10, ErrorHandler: onAppError})
	if probe == nil {
		app.All("/*", h)
	} else {
		app.All("/*", h, func(c fiberv3.Ctx) error {
			body := probe.Observe(conformance.Read(oryfiberv3.Session(c)), conformance.Read(core.SessionFromContext(c.Context())), oryfiberv3.SessionError(c))
			c.Set(fiberv3.HeaderContentType, conformance.ProtectedContentType)
			return c.Status(http.StatusOK).Send(body)
		})
	}
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, fiberv3.TestConfig{Timeout: 0}) }
}

func fiberV3Page(c fiberv3.Ctx, p conformance.Page) error {
	c.Set(fiberv3.HeaderContentType, conformance.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}

// serveFiberV3 serves routes with a fiber.App of Fiber v3 on fasthttp, with
// Fiber's default configuration.
func serveFiberV3(routes ...Route) (*App, error) {
	f := fiberv3.New()
	for _, rt := range routes {
		h := func(c fiberv3.Ctx) error {
			body := rt.Reply(session(oryfiberv3.Session(c)))
			c.Set(fiberv3.HeaderContentType, ReplyContentType)
			return c.Send(body)
		}
		if rt.Guard != nil {
			f.Get(rt.Path, oryfiberv3.Middleware(rt.Guard, rt.Options...), h)
		} else {
			f.Get(rt.Path, h)
		}
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
	return &App{URL: "http://" + ln.Addr().String(), stop: func() error {
		return f.ShutdownWithTimeout(shutdownTimeout)
	}}, nil
}
