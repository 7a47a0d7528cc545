// Package oryechotest mounts oryecho (Echo v5) for oryguard's conformance
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

	"github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Target mounts oryecho for core/conformance: adapter authors and the
// repository's end-to-end suite use it. It puts the middleware in front of a
// catch-all route of an echo.Echo with e.Use and serves requests with an
// httptest recorder, or with net/http's server on a loopback port for
// Listen. Its config form lets Echo's HTTPErrorHandler report the errors the
// middleware returns to the probe.
type Target struct{}

var _ conformance.ErrorReturner = Target{}

// Name implements conformance.Target.
func (Target) Name() string { return "echov5" }

// ReturnsErrors implements conformance.ErrorReturner.
func (Target) ReturnsErrors() {}

// Protected implements conformance.Target.
func (Target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(echo.New(), oryecho.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (Target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := oryecho.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c *echo.Context) bool { return cfg.Skip(c.Request().URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *echo.Context, err error) error {
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
	e.HTTPErrorHandler = func(c *echo.Context, err error) { probe.FrameworkError(err).Write(c.Response()) }
	return conformance.Recorder(protected(e, oryecho.MiddlewareWithConfig(guard, mc), probe))
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
	e.Any("/*", func(c *echo.Context) error {
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
