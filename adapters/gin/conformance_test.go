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
// through this adapter: every case of the table, with the session cache off
// and on. internal/conformance runs the same target (a copy of this one)
// beside the other adapters and checks that they all answer alike.
func TestConformance(t *testing.T) { conformance.Run(t, target{}) }

// target mounts orygin with r.Use in front of a catch-all route.
type target struct{}

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

// Name implements conformance.Target.
func (target) Name() string { return "gin" }

// Protected implements conformance.Target.
func (target) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return ginApp(orygin.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements conformance.Target.
func (target) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
	mc := orygin.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c *gin.Context) bool { return cfg.Skip(c.Request.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *gin.Context, err error) {
			if p := cfg.ErrorHandler(err); !p.Default {
				c.Data(p.Status, conformance.PageContentType, p.Body)
				return
			}
			orygin.DefaultErrorHandler(c, err)
		}
	}
	return ginApp(orygin.MiddlewareWithConfig(guard, mc), probe)
}

func ginApp(mw gin.HandlerFunc, probe *conformance.Probe) conformance.Server {
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", func(c *gin.Context) {
		body := probe.Observe(conformance.Read(orygin.Session(c)), conformance.Read(core.SessionFromContext(c.Request.Context())), orygin.SessionError(c))
		c.Data(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return conformance.Recorder(r)
}

// Refresh implements conformance.Target.
func (target) Refresh(guard *core.Guard) conformance.Server {
	r := gin.New()
	r.Any("/*path", orygin.RefreshHandler(guard))
	return conformance.Recorder(r)
}

// Logout implements conformance.Target.
func (target) Logout(guard *core.Guard) conformance.Server {
	r := gin.New()
	r.Any("/*path", orygin.LogoutHandler(guard))
	return conformance.Recorder(r)
}
