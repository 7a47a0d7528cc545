// Package oryechotest mounts oryecho (Echo v4) for oryguard's conformance
// suite (core/conformance), which checks every answer an adapter gives
// against one table:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, oryechotest.Target{}) }
//
// An author of a new adapter can read it as a worked example of a
// conformance.Target.
package oryechotest

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Target mounts oryecho for core/conformance: adapter authors and the
// repository's end-to-end suite use it. It puts the middleware in front of a
// catch-all route of an echo.Echo with e.Use and serves requests with an
// httptest recorder, or with net/http's server on a loopback port for
// Listen. Its config form lets Echo's HTTPErrorHandler report the errors the
// middleware returns to the probe. For the permission rows
// (conformance.ParamTarget) it mounts the middleware on the route /docs/:id
// itself.
type Target struct{}

var (
	_ conformance.ErrorReturner = Target{}
	_ conformance.ParamTarget   = Target{}
)

// Name implements conformance.Target.
func (Target) Name() string { return "echo" }

// ReturnsErrors implements conformance.ErrorReturner.
func (Target) ReturnsErrors() {}

// Protected implements conformance.Target.
func (Target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(echo.New(), oryecho.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (Target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(reporting(probe), oryecho.MiddlewareWithConfig(guard, config(cfg)), probe))
}

// reporting is an Echo whose HTTPErrorHandler reports to the probe.
func reporting(probe *conformance.Probe) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { probe.FrameworkError(err).Write(c.Response()) }
	return e
}

// config is the adapter's Config for the suite's settings.
func config(cfg conformance.TargetConfig) oryecho.Config {
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
	return mc
}

// paramRoute is the route with a path parameter that the ParamTarget
// methods mount.
const paramRoute = "/docs/:id"

// ProtectedParam implements conformance.ParamTarget: the middleware on the
// route itself.
func (Target) ProtectedParam(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	e := echo.New()
	e.Any(paramRoute, handler(probe), oryecho.Middleware(guard, opts...))
	return conformance.Recorder(e)
}

// ProtectedParamWithConfig implements conformance.ParamTarget: Echo's
// HTTPErrorHandler reports to the probe.
func (Target) ProtectedParamWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	e := reporting(probe)
	e.Any(paramRoute, handler(probe), oryecho.MiddlewareWithConfig(guard, config(cfg)))
	return conformance.Recorder(e)
}

// ProtectedGlobal implements conformance.ParamTarget: e.Use, which Echo
// runs after routing, so the middleware sees the route's parameters.
func (Target) ProtectedGlobal(guard *core.Guard, opts []core.Option, probe *conformance.Probe) (conformance.Server, bool) {
	e := echo.New()
	e.Use(oryecho.Middleware(guard, opts...))
	e.Any(paramRoute, handler(probe))
	return conformance.Recorder(e), true
}

// Refresh implements conformance.Target.
func (Target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(oryecho.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (Target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(oryecho.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (Target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	return conformance.ListenHTTP(t, protected(echo.New(), oryecho.Middleware(guard), probe))
}

// protected puts mw in front of the protected handler on every path of e.
func protected(e *echo.Echo, mw echo.MiddlewareFunc, probe *conformance.Probe) *echo.Echo {
	e.Use(mw)
	e.Any("/*", handler(probe))
	return e
}

// handler is the protected handler.
func handler(probe *conformance.Probe) echo.HandlerFunc {
	return func(c echo.Context) error {
		body := probe.Observe(conformance.Read(oryecho.Session(c)), conformance.Read(core.SessionFromContext(c.Request().Context())), oryecho.SessionError(c))
		return c.Blob(http.StatusOK, conformance.ProtectedContentType, body)
	}
}

// route serves every path with h.
func route(h echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.Any("/*", h)
	return e
}
