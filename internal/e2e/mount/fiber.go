package mount

import (
	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
)

// serveFiber serves routes with a fiber.App on fasthttp, with Fiber's
// default configuration.
func serveFiber(routes ...Route) (*App, error) {
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, rt := range routes {
		h := func(c *fiber.Ctx) error {
			body := rt.Reply(session(oryfiber.Session(c)))
			c.Set(fiber.HeaderContentType, ReplyContentType)
			return c.Send(body)
		}
		if rt.Guard != nil {
			f.Get(rt.Path, oryfiber.Middleware(rt.Guard, rt.Options...), h)
		} else {
			f.Get(rt.Path, h)
		}
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln) }()
	return &App{URL: "http://" + ln.Addr().String(), stop: func() error {
		return f.ShutdownWithTimeout(shutdownTimeout)
	}}, nil
}
