package bench

import (
	"net/http"
	"sync/atomic"
	"time"

	fiberv3 "github.com/gofiber/fiber/v3"
	echov5 "github.com/labstack/echo/v5"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
)

// Benchmark apps for the current majors of Echo (v5) and Fiber (v3), built
// as startApp builds their predecessors'.

func startEchoV5(g *core.Guard, served map[string]*atomic.Int64) (*app, error) {
	e := echov5.New()
	h := func(n *atomic.Int64) echov5.HandlerFunc {
		return func(c *echov5.Context) error {
			n.Add(1)
			_, _ = oryechov5.Session(c)
			return c.Blob(http.StatusOK, "text/plain", body)
		}
	}
	e.GET(pathOpen, h(served[pathOpen]))
	e.GET(pathProtected, h(served[pathProtected]), oryechov5.Middleware(g))
	return serveHTTP(e, served)
}

func startFiberV3(g *core.Guard, served map[string]*atomic.Int64) (*app, error) {
	f := fiberv3.New()
	h := func(n *atomic.Int64) fiberv3.Handler {
		return func(c fiberv3.Ctx) error {
			n.Add(1)
			_, _ = oryfiberv3.Session(c)
			c.Set(fiberv3.HeaderContentType, "text/plain")
			return c.Send(body)
		}
	}
	f.Get(pathOpen, h(served[pathOpen]))
	f.Get(pathProtected, oryfiberv3.Middleware(g), h(served[pathProtected]))
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
	return &app{URL: "http://" + ln.Addr().String(), served: served, stop: func() error {
		return f.ShutdownWithTimeout(5 * time.Second)
	}}, nil
}
