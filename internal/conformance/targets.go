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

// Targets returns one suite.Target per adapter.
func Targets() []suite.Target {
	return []suite.Target{NetHTTP{}, Gin{}, Echo{}, Fiber{}}
}

// NetHTTP mounts oryhttp on a plain http.Handler.
type NetHTTP struct{}

// Name implements suite.Target.
func (NetHTTP) Name() string { return "net/http" }

// Protected implements suite.Target.
func (NetHTTP) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := probe.Observe(suite.Read(oryhttp.Session(r.Context())), suite.Read(core.SessionFromContext(r.Context())))
		w.Header().Set("Content-Type", suite.ProtectedContentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	return suite.Recorder(oryhttp.Middleware(guard, opts...)(h))
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
	r := gin.New()
	r.Use(orygin.Middleware(guard, opts...))
	r.Any("/*path", func(c *gin.Context) {
		body := probe.Observe(suite.Read(orygin.Session(c)), suite.Read(core.SessionFromContext(c.Request.Context())))
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

// Protected implements suite.Target.
func (Echo) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	e := echo.New()
	e.Use(oryecho.Middleware(guard, opts...))
	e.Any("/*", func(c echo.Context) error {
		body := probe.Observe(suite.Read(oryecho.Session(c)), suite.Read(core.SessionFromContext(c.Request().Context())))
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

func fiberServer(app *fiber.App) suite.Server {
	return func(r *http.Request) (*http.Response, error) { return app.Test(r, -1) }
}

// newFiber raises fasthttp's ReadBufferSize, which caps the whole request
// header block (default 4096 bytes, answered with 431 beyond), so that the
// oversized-cookie case reaches the guard as it does on the other servers.
func newFiber() *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
}

// Protected implements suite.Target.
func (Fiber) Protected(guard *core.Guard, opts []core.Option, probe *suite.Probe) suite.Server {
	app := newFiber()
	app.Use(oryfiber.Middleware(guard, opts...))
	app.All("/*", func(c *fiber.Ctx) error {
		body := probe.Observe(suite.Read(oryfiber.Session(c)), suite.Read(core.SessionFromContext(c.UserContext())))
		c.Set(fiber.HeaderContentType, suite.ProtectedContentType)
		return c.Status(http.StatusOK).Send(body)
	})
	return fiberServer(app)
}

// Refresh implements suite.Target.
func (Fiber) Refresh(guard *core.Guard) suite.Server {
	app := newFiber()
	app.All("/*", oryfiber.RefreshHandler(guard))
	return fiberServer(app)
}

// Logout implements suite.Target.
func (Fiber) Logout(guard *core.Guard) suite.Server {
	app := newFiber()
	app.All("/*", oryfiber.LogoutHandler(guard))
	return fiberServer(app)
}
