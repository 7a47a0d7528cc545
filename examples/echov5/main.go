// Command echov5 is the oryguard example app for Echo v5: a public home
// page, a dashboard and a JSON endpoint behind an Ory session, and the
// login, registration, settings and error pages of a self-hosted Kratos.
package main

import (
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func main() {
	env := ui.FromEnv()
	e := echo.New()
	cfg := env.GuardConfig()
	cfg.Logger = e.Logger
	guard, err := core.New(cfg)
	if err != nil {
		e.Logger.Error("oryguard", "error", err)
		os.Exit(1)
	}
	ory, err := ui.NewOry(env.OryURL, env.Origin(), guard, e.Logger)
	if err != nil {
		e.Logger.Error("oryguard", "error", err)
		os.Exit(1)
	}
	e.Logger.Info("Ory at " + env.OryURL + ", served to browsers at " + ory.Proxy.URL())
	if err := routes(e, guard, ory).Start(env.Addr); err != nil {
		e.Logger.Error("server", "error", err)
		os.Exit(1)
	}
}

func routes(e *echo.Echo, guard *core.Guard, ory *ui.Ory) *echo.Echo {
	e.Renderer = renderer{}
	e.Use(middleware.RequestLogger(), middleware.Recover())
	// Ory on the app's origin, outside the guard: browsers never need Ory's
	// own host, and Ory's cookies are set for this one.
	e.Any("/.ory/*", echo.WrapHandler(ory.Proxy))

	e.GET("/", func(c *echo.Context) error {
		s, _ := oryecho.Session(c) // optional: nil for anonymous visitors
		return c.Render(http.StatusOK, ui.HomePage, ui.ProfileOf(s))
	}, oryecho.Middleware(guard, core.Optional()))

	private := e.Group("", oryecho.Middleware(guard))
	private.GET("/dashboard", func(c *echo.Context) error {
		s, _ := oryecho.Session(c)
		if ui.WantsJSON(c.Request().Header.Get(echo.HeaderAccept)) {
			return c.JSON(http.StatusOK, ui.ProfileOf(s))
		}
		return c.Render(http.StatusOK, ui.DashboardPage, ui.ProfileOf(s))
	})
	e.GET("/api/me", func(c *echo.Context) error {
		s, _ := oryecho.Session(c)
		return c.JSON(http.StatusOK, ui.ProfileOf(s))
	}, oryecho.Middleware(guard, core.ForceAPI()))

	// A route only some users may open: Ory Permissions decides per
	// document (ui.CanView); mounted on the route, where the router has
	// matched :id.
	e.GET("/docs/:id", func(c *echo.Context) error {
		s, _ := oryecho.Session(c)
		// Echo routes on the raw path when it has one and leaves c.Param
		// encoded then; the check decoded it once.
		id := c.Param("id")
		if c.Request().URL.RawPath != "" {
			var err error
			if id, err = url.PathUnescape(id); err != nil {
				return echo.ErrBadRequest // the guard denied such an ID already
			}
		}
		return c.Render(http.StatusOK, ui.DocumentPage, ui.DocumentOf(id, s))
	}, oryecho.Middleware(guard, ui.CanView))

	// A route with an app rule and a custom error page: browsers whose email
	// is not verified see VerifyPage, every other denial the guard's answer.
	verified := e.Group("/verified", oryecho.MiddlewareWithConfig(guard, oryecho.Config{
		ErrorHandler: func(c *echo.Context, err error) error {
			if ui.Unverified(err) {
				return c.Render(http.StatusForbidden, ui.VerifyPage, nil)
			}
			return oryecho.DefaultErrorHandler(c, err)
		},
		Options: []core.Option{ui.VerifiedEmail},
	}))
	verified.GET("", func(c *echo.Context) error {
		s, _ := oryecho.Session(c)
		return c.Render(http.StatusOK, ui.DashboardPage, ui.ProfileOf(s))
	})

	e.GET("/refresh-session", oryecho.RefreshHandler(guard))
	e.POST("/logout", oryecho.LogoutHandler(guard)) // a form button: see README
	for path, page := range ory.Flows.Pages() {
		e.GET(path, echo.WrapHandler(page))
	}
	return e
}

// renderer renders the shared templates for c.Render.
type renderer struct{}

func (renderer) Render(_ *echo.Context, w io.Writer, name string, data any) error {
	return ui.Render(w, name, data)
}
