package oryecho_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts oryecho with e.Use in front of a catch-all route.
type target struct{}

// Name implements conformance.Target.
func (target) Name() string { return "echo" }

// ReturnsErrors implements conformance.ErrorReturner.
func (target) ReturnsErrors() {}

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(echo.New(), oryecho.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryecho.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c echo.Context) bool { return cfg.Skip(c.Request().URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c echo.Context, err error) error {
			switch p := cfg.ErrorHandler(err); {
			case p.Default:
				return oryecho.DefaultErrorHandler(c, p.Err)
			case p.Return:
				return err
			default:
				return c.Blob(p.Status, conformance.PageContentType, p.Body)
			}
		}
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { probe.FrameworkError(err).Write(c.Response()) }
	return conformance.Recorder(protected(e, oryecho.MiddlewareWithConfig(guard, mc), probe))
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(oryecho.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(oryecho.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	return conformance.ListenHTTP(t, protected(echo.New(), oryecho.Middleware(guard), probe))
}

// protected puts mw in front of the protected handler on every path of e.
func protected(e *echo.Echo, mw echo.MiddlewareFunc, probe *conformance.Probe) *echo.Echo {
	e.Use(mw)
	e.Any("/*", func(c echo.Context) error {
		body := probe.Observe(conformance.Read(oryecho.Session(c)), conformance.Read(core.SessionFromContext(c.Request().Context())), oryecho.SessionError(c))
		return c.Blob(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return e
}

// route serves every path with h.
func route(h echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.Any("/*", h)
	return e
}
