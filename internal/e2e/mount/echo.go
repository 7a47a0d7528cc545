package mount

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
)

// serveEcho serves routes with an echo.Echo.
func serveEcho(routes ...Route) (*App, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	for _, rt := range routes {
		h := func(c echo.Context) error {
			return c.Blob(http.StatusOK, ReplyContentType, rt.Reply(session(oryecho.Session(c))))
		}
		if rt.Guard != nil {
			e.GET(rt.Path, h, oryecho.Middleware(rt.Guard, rt.Options...))
		} else {
			e.GET(rt.Path, h)
		}
	}
	return serveHandler(e)
}
