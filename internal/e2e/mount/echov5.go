package mount

import (
	"net/http"

	echov5 "github.com/labstack/echo/v5"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// EchoV5 mounts oryecho (Echo v5, whose handlers take *echo.Context) with
// e.Use in front of a catch-all route.
type EchoV5 struct{}

// Name implements conformance.Target.
func (EchoV5) Name() string { return "echov5" }

// ReturnsErrors implements conformance.ErrorReturner.
func (EchoV5) ReturnsErrors() {}

// Protected implements conformance.Target.
func (EchoV5) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	e := echov5.New()
	e.Use(oryechov5.Middleware(guard, opts...))
	return echoV5Probe(e, probe)
}

// ProtectedWithConfig implements conformance.Target: Echo's
// HTTPErrorHandler reports to the probe.
func (EchoV5) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryechov5.Config{Options: cfg.Options}
	if skip := cfg.Skip; skip != nil {
		mc.Skipper = func(c *echov5.Context) bool { return skip(c.Request().URL.Path) }
	}
	if pick := cfg.ErrorHandler; pick != nil {
		mc.ErrorHandler = func(c *echov5.Context, err error) error {
			switch p := pick(err); {
			case p.Default:
				return oryechov5.DefaultErrorHandler(c, err)
			case p.Return:
				return err
			default:
				return c.Blob(p.Status, conformance.PageContentType, p.Body)
			}
		}
	}
	e := echov5.New()
	e.HTTPErrorHandler = func(c *echov5.Context, err error) { probe.FrameworkError(err).Write(c.Response()) }
	e.Use(oryechov5.MiddlewareWithConfig(guard, mc))
	return echoV5Probe(e, probe)
}

// echoV5Probe adds the protected catch-all route to e.
func echoV5Probe(e *echov5.Echo, probe *conformance.Probe) conformance.Server {
	e.Any("/*", func(c *echov5.Context) error {
		body := probe.Observe(conformance.Read(oryechov5.Session(c)), conformance.Read(core.SessionFromContext(c.Request().Context())), oryechov5.SessionError(c))
		return c.Blob(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return conformance.Recorder(e)
}

// Refresh implements conformance.Target.
func (EchoV5) Refresh(guard *core.Guard) conformance.Server {
	return echoV5Route(oryechov5.RefreshHandler(guard))
}

// Logout implements conformance.Target.
func (EchoV5) Logout(guard *core.Guard) conformance.Server {
	return echoV5Route(oryechov5.LogoutHandler(guard))
}

// echoV5Route serves every path with h.
func echoV5Route(h echov5.HandlerFunc) conformance.Server {
	e := echov5.New()
	e.Any("/*", h)
	return conformance.Recorder(e)
}

// serveEchoV5 serves routes with an echo.Echo of Echo v5.
func serveEchoV5(routes ...Route) (*App, error) {
	e := echov5.New()
	for _, rt := range routes {
		h := func(c *echov5.Context) error {
			return c.Blob(http.StatusOK, ReplyContentType, rt.Reply(session(oryechov5.Session(c))))
		}
		if rt.Guard != nil {
			e.GET(rt.Path, h, oryechov5.Middleware(rt.Guard, rt.Options...))
		} else {
			e.GET(rt.Path, h)
		}
	}
	return serveHandler(e)
}
