package mount

import (
	"net/http"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/conformance"
)

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

// Gin mounts orygin with r.Use in front of a catch-all route.
type Gin struct{}

// Name implements conformance.Target.
func (Gin) Name() string { return "gin" }

// Protected implements conformance.Target.
func (Gin) Protected(guard *core.Guard, opts []core.Option, probe *conformance.Probe) conformance.Server {
	return ginProbe(orygin.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements conformance.Target.
func (Gin) ProtectedWithConfig(guard *core.Guard, cfg conformance.TargetConfig, probe *conformance.Probe) conformance.Server {
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
	return ginProbe(orygin.MiddlewareWithConfig(guard, mc), probe)
}

func ginProbe(mw gin.HandlerFunc, probe *conformance.Probe) conformance.Server {
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", func(c *gin.Context) {
		body := probe.Observe(conformance.Read(orygin.Session(c)), conformance.Read(core.SessionFromContext(c.Request.Context())), orygin.SessionError(c))
		c.Data(http.StatusOK, conformance.ProtectedContentType, body)
	})
	return conformance.Recorder(r)
}

// Refresh implements conformance.Target.
func (Gin) Refresh(guard *core.Guard) conformance.Server {
	r := gin.New()
	r.Any("/*path", orygin.RefreshHandler(guard))
	return conformance.Recorder(r)
}

// Logout implements conformance.Target.
func (Gin) Logout(guard *core.Guard) conformance.Server {
	r := gin.New()
	r.Any("/*path", orygin.LogoutHandler(guard))
	return conformance.Recorder(r)
}

// serveGin serves routes with a gin.Engine.
func serveGin(routes ...Route) (*App, error) {
	r := gin.New()
	for _, rt := range routes {
		h := func(c *gin.Context) {
			c.Data(http.StatusOK, ReplyContentType, rt.Reply(session(orygin.Session(c))))
		}
		if rt.Guard != nil {
			r.GET(rt.Path, orygin.Middleware(rt.Guard, rt.Options...), h)
		} else {
			r.GET(rt.Path, h)
		}
	}
	return serveHandler(r)
}
