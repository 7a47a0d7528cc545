package orygin_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts orygin with r.Use in front of a catch-all route.
type target struct{}

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

// Name implements conformance.Target.
func (target) Name() string { return "gin" }

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return conformance.Recorder(protected(orygin.Middleware(guard, opts...), probe))
}

// ProtectedWithConfig implements conformance.Target.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
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
	return conformance.Recorder(protected(orygin.MiddlewareWithConfig(guard, mc), probe))
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(orygin.RefreshHandler(guard)))
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	return conformance.Recorder(route(orygin.LogoutHandler(guard)))
}

// Listen implements conformance.Target.
func (target) Listen(t *testing.T, guard *core.Guard, probe *conformance.Probe) string {
	return conformance.ListenHTTP(t, protected(orygin.Middleware(guard), probe))
}

// protected is mw in front of the protected handler on every path.
func protected(mw gin.HandlerFunc, probe *conformance.Probe) *gin.Engine {
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", func(c *gin.Context) {
		body := probe.Observe(conformance.Read(orygin.Session(c)), conformance.Read(core.SessionFromContext(c.Request.Context())), orygin.SessionError(c))
		c.Data(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return r
}

// route serves every path with h.
func route(h gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Any("/*path", h)
	return r
}
