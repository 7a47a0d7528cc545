package mount

import (
	"net/http"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

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
