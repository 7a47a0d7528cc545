package mount

import (
	"net/http"

	echov5 "github.com/labstack/echo/v5"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
)

// serveEchoV5 serves routes with an echo.Echo of Echo v5.
func serveEchoV5(routes ...Route) (*App, error) {
	e := echov5.New()
	for _, rt := range routes {
		h := func(c *echov5.Context) error {
			return c.Blob(http.StatusOK, ReplyContentType, rt.Reply(session(oryechov5.Session(c))))
		}
		if rt.Guard != nil {
			e.GET(rt.Path, h, oryechov5.Middleware(rt.Guard, rt.Options...))
		} else {
			e.GET(rt.Path, h)
		}
	}
	return serveHandler(e)
}
