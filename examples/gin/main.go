// Command gin is the oryguard example app for Gin: a public home page, a
// dashboard and a JSON endpoint behind an Ory session, and the login,
// registration, settings and error pages of a self-hosted Kratos.
package main

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func main() {
	env := ui.FromEnv()
	tel, err := newTelemetry()
	if err != nil {
		log.Fatal(err)
	}
	guard, err := core.New(guardConfig(env))
	if err != nil {
		log.Fatal(err)
	}
	ory, err := ui.NewOry(env.OryURL, env.Origin(), guard, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (Ory at %s, served to browsers at %s; metrics at /metrics)", env.Addr, env.OryURL, ory.Proxy.URL())
	log.Fatal(newRouter(guard, ory, tel.metrics).Run(env.Addr))
}

// newRouter wires the routes; metrics, when not nil, serves /metrics.
func newRouter(guard *core.Guard, ory *ui.Ory, metrics http.Handler) *gin.Engine {
	r := gin.Default()
	_ = r.SetTrustedProxies(nil) // no proxy in front: never read X-Forwarded-For
	r.SetHTMLTemplate(ui.Templates())
	// Ory on the app's origin, outside the guard: browsers never need Ory's
	// own host, and Ory's cookies are set for this one.
	r.Any("/.ory/*path", gin.WrapH(ory.Proxy))

	r.GET("/", orygin.Middleware(guard, core.Optional()), func(c *gin.Context) {
		s, _ := orygin.Session(c) // optional: nil for anonymous visitors
		c.HTML(http.StatusOK, ui.HomePage, ui.ProfileOf(s))
	})
	r.GET("/dashboard", orygin.Middleware(guard), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		if ui.WantsJSON(c.GetHeader("Accept")) {
			c.JSON(http.StatusOK, ui.ProfileOf(s))
			return
		}
		c.HTML(http.StatusOK, ui.DashboardPage, ui.ProfileOf(s))
	})
	r.GET("/api/me", orygin.Middleware(guard, core.ForceAPI()), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		c.JSON(http.StatusOK, ui.ProfileOf(s))
	})
	// A route with an app rule and a custom error page: browsers whose email
	// is not verified see VerifyPage, every other denial the guard's answer.
	r.GET("/verified", orygin.MiddlewareWithConfig(guard, orygin.Config{
		ErrorHandler: func(c *gin.Context, err error) {
			if ui.Unverified(err) {
				c.HTML(http.StatusForbidden, ui.VerifyPage, nil)
				return
			}
			orygin.DefaultErrorHandler(c, err)
		},
		Options: []core.Option{ui.VerifiedEmail},
	}), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		c.HTML(http.StatusOK, ui.DashboardPage, ui.ProfileOf(s))
	})
	// A route only some users may open: Ory Permissions decides per
	// document (ui.CanView); mounted on the route, where the router has
	// matched :id.
	r.GET("/docs/:id", orygin.Middleware(guard, ui.CanView), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		c.HTML(http.StatusOK, ui.DocumentPage, ui.DocumentOf(c.Param("id"), s))
	})
	if metrics != nil {
		r.GET("/metrics", gin.WrapH(metrics))
	}
	r.GET("/refresh-session", orygin.RefreshHandler(guard))
	r.POST("/logout", orygin.LogoutHandler(guard)) // a form button: see README
	for path, page := range ory.Flows.Pages() {
		r.GET(path, gin.WrapH(page))
	}
	return r
}
