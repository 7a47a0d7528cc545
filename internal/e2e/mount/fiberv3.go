package mount

import (
	fiberv3 "github.com/gofiber/fiber/v3"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
)

// serveFiberV3 serves routes with a fiber.App of Fiber v3 on fasthttp, with
// Fiber's default configuration.
func serveFiberV3(routes ...Route) (*App, error) {
	f := fiberv3.New()
	for _, rt := range routes {
		h := func(c fiberv3.Ctx) error {
			body := rt.Reply(session(oryfiberv3.Session(c)))
			c.Set(fiberv3.HeaderContentType, ReplyContentType)
			return c.Send(body)
		}
		if rt.Guard != nil {
			f.Get(rt.Path, oryfiberv3.Middleware(rt.Guard, rt.Options...), h)
		} else {
			f.Get(rt.Path, h)
		}
	}
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	go func() { _ = f.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
	return &App{URL: "http://" + ln.Addr().String(), stop: func() error {
		return f.ShutdownWithTimeout(shutdownTimeout)
	}}, nil
}
