package mount

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Echo mounts oryecho (Echo v4) with e.Use in front of a catch-all route.
type Echo struct{}

// Name implements conformance.Target.
func (Echo) Name() string { return "echo" }

// ReturnsErrors implements conformance.ErrorReturner.
func (Echo) ReturnsErrors() {}

// Protected implements conformance.Target.
func (Echo) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return echoProbe(echo.New(), oryecho.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements conformance.Target: Echo's
// HTTPErrorHandler reports to the probe.
func (Echo) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryecho.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c echo.Context) bool { return cfg.Skip(c.Request().URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c echo.Context, err error) error {
			switch p := cfg.ErrorHandler(err); {
			case p.Default:
				return oryecho.DefaultErrorHandler(c, err)
			case p.Return:
				return err
			default:
				return c.Blob(p.Status, conformance.PageContentType, p.Body)
			}
		}
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { probe.FrameworkError(err).Write(c.Response()) }
	return echoProbe(e, oryecho.MiddlewareWithConfig(guard, mc), probe)
}

func echoProbe(e *echo.Echo, mw echo.MiddlewareFunc, probe *conformance.Probe) conformance.Server {
	e.Use(mw)
	e.Any("/*", func(c echo.Context) error {
		body := probe.Observe(conformance.Read(oryecho.Session(c)), conformance.Read(core.SessionFromContext(c.Request().Context())), oryecho.SessionError(c))
		return c.Blob(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return conformance.Recorder(e)
}

// Refresh implements conformance.Target.
func (Echo) Refresh(guard *core.Guard) conformance.Server {
	e := echo.New()
	e.Any("/*", oryecho.RefreshHandler(guard))
	return conformance.Recorder(e)
}

// Logout implements conformance.Target.
func (Echo) Logout(guard *core.Guard) conformance.Server {
	e := echo.New()
	e.Any("/*", oryecho.LogoutHandler(guard))
	return conformance.Recorder(e)
}

// serveEcho serves routes with an echo.Echo.
func serveEcho(routes ...Route) (*App, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	for _, rt := range routes {
		h := func(c echo.Context) error {
			return c.Blob(http.StatusOK, ReplyContentType, rt.Reply(session(oryecho.Session(c))))
		}
		if rt.Guard != nil {
			e.GET(rt.Path, h, oryecho.Middleware(rt.Guard, rt.Options...))
		} else {
			e.GET(rt.Path, h)
		}
	}
	return serveHandler(e)
}
