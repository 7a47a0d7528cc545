package bench

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	fiber2 "github.com/gofiber/fiber/v2"
	fiber3 "github.com/gofiber/fiber/v3"
	echo4 "github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	orygin "github.com/oryguard/oryguard/adapters/gin"
)

// startNoopApp serves pathNoop with framework: the handler of startApp's
// routes (it reads the session through the adapter's accessor and answers
// body) behind a middleware, written the framework's own way, that does
// nothing but call the next handler. It is the control of section 2: the
// no-op route over the unguarded one is what the framework charges for a
// middleware at all, the share of the guarded route's cost that is not the
// guard's. The server runs with the same settings as the
// internal/e2e/mount server of startApp.
func startNoopApp(framework string) (*app, error) {
	served := newCounters(pathNoop)
	n := served[pathNoop]
	switch framework {
	case "net/http":
		mux := http.NewServeMux()
		mux.Handle("GET "+pathNoop, noopMiddleware(netHTTPHandler(n)))
		return serveHTTP(mux, served)
	case "gin":
		r := gin.New()
		r.GET(pathNoop, func(c *gin.Context) { c.Next() }, func(c *gin.Context) {
			_, _ = orygin.Session(c)
			c.Data(http.StatusOK, "text/plain", reply(n))
		})
		return serveHTTP(r, served)
	case "echo":
		e := echo4.New()
		e.HideBanner, e.HidePort = true, true
		e.Logger.SetOutput(io.Discard)
		e.GET(pathNoop, func(c echo4.Context) error {
			_, _ = oryecho.Session(c)
			return c.Blob(http.StatusOK, "text/plain", reply(n))
		}, func(next echo4.HandlerFunc) echo4.HandlerFunc { return func(c echo4.Context) error { return next(c) } })
		return serveHTTP(e, served)
	case "echov5":
		e := echo5.New()
		e.GET(pathNoop, func(c *echo5.Context) error {
			_, _ = oryechov5.Session(c)
			return c.Blob(http.StatusOK, "text/plain", reply(n))
		}, func(next echo5.HandlerFunc) echo5.HandlerFunc { return func(c *echo5.Context) error { return next(c) } })
		return serveHTTP(e, served)
	case "fiber":
		f := fiber2.New(fiber2.Config{DisableStartupMessage: true})
		f.Get(pathNoop, func(c *fiber2.Ctx) error { return c.Next() }, func(c *fiber2.Ctx) error {
			_, _ = oryfiber.Session(c)
			c.Set(fiber2.HeaderContentType, "text/plain")
			return c.Send(reply(n))
		})
		ln, err := listen()
		if err != nil {
			return nil, err
		}
		go func() { _ = f.Listener(ln) }()
		return &app{URL: "http://" + ln.Addr().String(), served: served, stop: func() error { return f.ShutdownWithTimeout(5 * time.Second) }}, nil
	case "fiberv3":
		f := fiber3.New()
		f.Get(pathNoop, func(c fiber3.Ctx) error { return c.Next() }, func(c fiber3.Ctx) error {
			_, _ = oryfiberv3.Session(c)
			c.Set(fiber3.HeaderContentType, "text/plain")
			return c.Send(reply(n))
		})
		ln, err := listen()
		if err != nil {
			return nil, err
		}
		go func() { _ = f.Listener(ln, fiber3.ListenConfig{DisableStartupMessage: true}) }()
		return &app{URL: "http://" + ln.Addr().String(), served: served, stop: func() error { return f.ShutdownWithTimeout(5 * time.Second) }}, nil
	}
	return nil, fmt.Errorf("bench: no no-op app for %q", framework)
}

// reply counts one run of the handler and returns its answer.
func reply(n *atomic.Int64) []byte {
	n.Add(1)
	return body
}
