package conformance

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	suite "github.com/oryguard/oryguard/core/conformance"
)

// The targets below are the same as those in each adapter module's own
// conformance_test.go (which this module cannot import); keep them in step.

// Targets returns one suite.Target per adapter.
func Targets() []suite.Target {
	return []suite.Target{NetHTTP{}, Gin{}, Echo{}, EchoV5{}, Fiber{}, FiberV3{}}
}

// NetHTTP mounts oryhttp on a plain http.Handler.
type NetHTTP struct{}

// Name implements suite.Target.
func (NetHTTP) Name() string { return "net/http" }

// Protected implements suite.Target.
func (NetHTTP) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	return suite.Recorder(oryhttp.Middleware(guard, opts...)(netHTTPHandler(probe)))
}

// ProtectedWithConfig implements suite.Target.
func (NetHTTP) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
	mc := oryhttp.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(r *http.Request) bool { return cfg.Skip(r.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			if p := cfg.ErrorHandler(err); !p.Default {
				p.Write(w)
				return
			}
			oryhttp.DefaultErrorHandler(w, r, err)
		}
	}
	return suite.Recorder(oryhttp.MiddlewareWithConfig(guard, mc)(netHTTPHandler(probe)))
}

func netHTTPHandler(probe *suite.Probe) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body := probe.Observe(suite.Read(oryhttp.Session(ctx)), suite.Read(core.SessionFromContext(ctx)), oryhttp.SessionError(ctx))
		w.Header().Set("Content-Type", suite.ProtectedContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// Refresh implements suite.Target.
func (NetHTTP) Refresh(guard *core.Guard) suite.Server {
	return suite.Recorder(oryhttp.RefreshHandler(guard))
}

// Logout implements suite.Target.
func (NetHTTP) Logout(guard *core.Guard) suite.Server {
	return suite.Recorder(oryhttp.LogoutHandler(guard))
}

// Gin mounts orygin with r.Use in front of a catch-all route.
type Gin struct{}

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

// Name implements suite.Target.
func (Gin) Name() string { return "gin" }

// Protected implements suite.Target.
func (Gin) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	return ginApp(orygin.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements suite.Target.
func (Gin) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
	mc := orygin.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Skipper = func(c *gin.Context) bool { return cfg.Skip(c.Request.URL.Path) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *gin.Context, err error) {
			if p := cfg.ErrorHandler(err); !p.Default {
				c.Data(p.Status, suite.PageContentType, p.Body)
				return
			}
			orygin.DefaultErrorHandler(c, err)
		}
	}
	return ginApp(orygin.MiddlewareWithConfig(guard, mc), probe)
}

func ginApp(mw gin.HandlerFunc, probe *suite.Probe) suite.Server {
	r := gin.New()
	r.Use(mw)
	r.Any("/*path", func(c *gin.Context) {
		body := probe.Observe(suite.Read(orygin.Session(c)), suite.Read(core.SessionFromContext(c.Request.Context())), orygin.SessionError(c))
		c.Data(http.StatusOK, suite.ProtectedContentType, body)
	})
	return suite.Recorder(r)
}

// Refresh implements suite.Target.
func (Gin) Refresh(guard *core.Guard) suite.Server {
	r := gin.New()
	r.Any("/*path", orygin.RefreshHandler(guard))
	return suite.Recorder(r)
}

// Logout implements suite.Target.
func (Gin) Logout(guard *core.Guard) suite.Server {
	r := gin.New()
	r.Any("/*path", orygin.LogoutHandler(guard))
	return suite.Recorder(r)
}

// Echo mounts oryecho with e.Use in front of a catch-all route.
type Echo struct{}

// Name implements suite.Target.
func (Echo) Name() string { return "echo" }

// ReturnsErrors implements suite.ErrorReturner.
func (Echo) ReturnsErrors() {}

// Protected implements suite.Target.
func (Echo) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	return echoApp(echo.New(), oryecho.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements suite.Target: Echo's HTTPErrorHandler
// reports to the probe.
func (Echo) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
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
				return c.Blob(p.Status, suite.PageContentType, p.Body)
			}
		}
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { probe.FrameworkError(err).Write(c.Response()) }
	return echoApp(e, oryecho.MiddlewareWithConfig(guard, mc), probe)
}

func echoApp(e *echo.Echo, mw echo.MiddlewareFunc, probe *suite.Probe) suite.Server {
	e.Use(mw)
	e.Any("/*", func(c echo.Context) error {
		body := probe.Observe(suite.Read(oryecho.Session(c)), suite.Read(core.SessionFromContext(c.Request().Context())), oryecho.SessionError(c))
		return c.Blob(http.StatusOK, suite.ProtectedContentType, body)
	})
	return suite.Recorder(e)
}

// Refresh implements suite.Target.
func (Echo) Refresh(guard *core.Guard) suite.Server {
	e := echo.New()
	e.Any("/*", oryecho.RefreshHandler(guard))
	return suite.Recorder(e)
}

// Logout implements suite.Target.
func (Echo) Logout(guard *core.Guard) suite.Server {
	e := echo.New()
	e.Any("/*", oryecho.LogoutHandler(guard))
	return suite.Recorder(e)
}

// Fiber mounts oryfiber with app.Use in front of a catch-all route and
// serves requests with app.Test (a real fasthttp server over an in-memory
// connection).
type Fiber struct{}

// Name implements suite.Target.
func (Fiber) Name() string { return "fiber" }

// ReturnsErrors implements suite.ErrorReturner.
func (Fiber) ReturnsErrors() {}

// newFiber raises fasthttp's ReadBufferSize, which caps the whole request
// header block (default 4096 bytes, answered with 431 beyond), so that the
// oversized-cookie case reaches the guard as it does on the other servers.
func newFiber(onError fiber.ErrorHandler) *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10, ErrorHandler: onError})
}

func fiberServer(app *fiber.App) suite.Server {
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
}

func fiberPage(c *fiber.Ctx, p suite.Page) error {
	c.Set(fiber.HeaderContentType, suite.PageContentType)
	return c.Status(p.Status).Send(p.Body)
}

// Protected implements suite.Target.
func (Fiber) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	return fiberApp(newFiber(nil), oryfiber.Middleware(guard, opts...), probe)
}

// ProtectedWithConfig implements suite.Target: the app's ErrorHandler
// reports to the probe.
func (Fiber) ProtectedWithConfig(guard *core.Guard, cfg suite.TargetConfig, probe *suite.Probe) suite.Server {
	mc := oryfiber.Config{Options: cfg.Options}
	if cfg.Skip != nil {
		mc.Next = func(c *fiber.Ctx) bool { return cfg.Skip(c.Path()) }
	}
	if cfg.ErrorHandler != nil {
		mc.ErrorHandler = func(c *fiber.Ctx, err error) error {
			switch p := cfg.ErrorHandler(err); {
			case p.Default:
				return oryfiber.DefaultErrorHandler(c, err)
			case p.Return:
				return err
			default:
				return fiberPage(c, p)
			}
		}
	}
	app := newFiber(func(c *fiber.Ctx, err error) error { return fiberPage(c, probe.FrameworkError(err)) })
	return fiberApp(app, oryfiber.New(guard, mc), probe)
}

func fiberApp(app *fiber.App, mw fiber.Handler, probe *suite.Probe) suite.Server {
	app.Use(mw)
	app.All("/*", func(c *fiber.Ctx) error {
		body := probe.Observe(suite.Read(oryfiber.Session(c)), suite.Read(core.SessionFromContext(c.UserContext())), oryfiber.SessionError(c))
		c.Set(fiber.HeaderContentType, suite.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return fiberServer(app)
}

// Refresh implements suite.Target.
func (Fiber) Refresh(guard *core.Guard) suite.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.RefreshHandler(guard))
	return fiberServer(app)
}

// Logout implements suite.Target.
func (Fiber) Logout(guard *core.Guard) suite.Server {
	app := newFiber(nil)
	app.All("/*", oryfiber.LogoutHandler(guard))
	return fiberServer(app)
}
