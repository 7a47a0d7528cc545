// Package orygintest mounts orygin for oryguard's conformance suite
// (core/conformance), which checks every answer an adapter gives against one
// table:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, orygintest.Target{}) }
//
// An author of a new adapter can read it as a worked example of a
// conformance.Target.
package orygintest

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// Target mounts orygin for core/conformance: adapter authors and the
// repository's end-to-end suite use it. It puts the middleware in front of a
// catch-all route of a gin.Engine with r.Use and serves requests with an
// httptest recorder, or with net/http's server on a loopback port for
// Listen. It leaves Gin's mode alone: call gin.SetMode(gin.ReleaseMode) first
// to keep Gin's debug route listing off the test output. For the permission
// rows (conformance.ParamTarget) it mounts the middleware on the route
// /docs/:id itself.
type Target struct{}

var _ conformance.ParamTarget = Target{}

// Name implements conformance.Target.
func (Target) Name() string { return "gin" }

// Protected implements conformance.Target.
func (Target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(orygin.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target.
func (Target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(orygin.MiddlewareWithConfig(guard, config(cfg)), probe))
}

// config is the adapter's Config for the suite's settings.
func config(cfg conformance.TargetConfig) orygin.Config {
	mc := orygin.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c *gin.Context) bool { return cfg.Skip(c.Request.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *gin.Context, err error) {
			if p := cfg.ErrorHandler(err); p.Default {
				orygin.DefaultErrorHandler(c, p.Err)
			} else {
				c.Data(p.Status, conformance.PageContentType, p.Body)
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
	r := gin.New()
	r.Any(paramRoute, orygin.Middleware(guard, opts...), handler(probe))
	return conformance.Recorder(r)
}

// ProtectedParamWithConfig implements conformance.ParamTarget.
func (Target) ProtectedParamWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	r := gin.New()
	r.Any(paramRoute, orygin.MiddlewareWithConfig(guard, config(cfg)), handler(probe))
	return conformance.Recorder(r)
}

// ProtectedGlobal implements conformance.ParamTarget: r.Use, which Gin
// runs after it matched the route, so the middleware sees its parameters.
func (Target) ProtectedGlobal(guard *core.Guard, opts []core.Option, probe *conformance.Probe) (conformance.Server, bool) {
	r := gin.New()
	r.Use(orygin.Middleware(guard, opts...))
	r.Any(paramRoute, handler(probe))
	return conformance.Recorder(r), true
}

// Refresh implements conformance.Target.
func (Target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(orygin.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (Target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(orygin.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (Target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	return conformance.ListenHTTP(t, protected(orygin.Middleware(guard), probe))
}

// protected is mw in front of the protected handler on every path.
func protected(mw gin.HandlerFunc, probe *conformance.Probe) *gin.Engine {
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", handler(probe))
	return r
}

// handler is the protected handler.
func handler(probe *conformance.Probe) gin.HandlerFunc {
	return func(c *gin.Context) {
		body := probe.Observe(conformance.Read(orygin.Session(c)), conformance.Read(core.SessionFromContext(c.Request.Context())), orygin.SessionError(c))
		c.Data(http.StatusOK, conformance.ProtectedContentType, body)
	}
}

// route serves every path with h.
func route(h gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Any("/*path", h)
	return r
}
