package oryfiber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestRouteOrder shows which routes the guard protects depending on how it
// is registered. In Fiber v3 a group is prefix middleware: app.Group("/",
// mw) runs mw for every route registered after it, so a public /health
// added later is guarded too. The documented patterns (the middleware as a
// handler argument of each route, a group with a real prefix, Config.Next)
// leave a public route registered after the protected ones public: it
// answers 200 without a session and Ory is never asked.
func TestRouteOrder(t *testing.T) {
	ok := func(c fiber.Ctx) error { return c.SendString("ok") }
	tests := []struct {
		name  string
		build func(app *fiber.App, guard *core.Guard)
		// the public /health route, registered last
		healthNoSession int // status without a session
		healthOryCalls  int // whoami calls for /health with a session
	}{
		{
			name: "middleware as a handler argument",
			build: func(app *fiber.App, guard *core.Guard) {
				app.Get("/app/dashboard", oryfiber.Middleware(guard), ok)
				app.Get("/health", ok)
			},
			healthNoSession: http.StatusOK,
		},
		{
			name: "group with a real prefix",
			build: func(app *fiber.App, guard *core.Guard) {
				private := app.Group("/app", oryfiber.Middleware(guard))
				private.Get("/dashboard", ok)
				app.Get("/health", ok)
			},
			healthNoSession: http.StatusOK,
		},
		{
			name: "Config.Next skips the public path",
			build: func(app *fiber.App, guard *core.Guard) {
				app.Use(oryfiber.New(guard, oryfiber.Config{
					Next: func(c fiber.Ctx) bool { return c.Path() == "/health" },
				}))
				app.Get("/app/dashboard", ok)
				app.Get("/health", ok)
			},
			healthNoSession: http.StatusOK,
		},
		{
			name: "pitfall: a group at / guards every later route",
			build: func(app *fiber.App, guard *core.Guard) {
				private := app.Group("/", oryfiber.Middleware(guard))
				private.Get("/app/dashboard", ok)
				app.Get("/health", ok)
			},
			healthNoSession: http.StatusSeeOther,
			healthOryCalls:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Session("valid-cookie", orytest.ActiveSession("s-1", "ada@example.com"))
			// No cache, so every guarded request with a session asks Ory once.
			guard, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			app := fiber.New()
			tt.build(app, guard)

			get := func(path string, withSession bool) int {
				t.Helper()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if withSession {
					req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "valid-cookie"})
				}
				resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				_ = resp.Body.Close()
				return resp.StatusCode
			}

			if got := get("/health", false); got != tt.healthNoSession {
				t.Errorf("/health without a session: status %d, want %d", got, tt.healthNoSession)
			}
			if got := get("/health", true); got != http.StatusOK {
				t.Errorf("/health with a session: status %d, want 200", got)
			}
			if got := ory.Calls(); got != tt.healthOryCalls {
				t.Errorf("whoami calls for /health: %d, want %d", got, tt.healthOryCalls)
			}
			// The protected route stays protected in every pattern.
			if got := get("/app/dashboard", false); got != http.StatusSeeOther {
				t.Errorf("/app/dashboard without a session: status %d, want 303", got)
			}
			if got := get("/app/dashboard", true); got != http.StatusOK {
				t.Errorf("/app/dashboard with a session: status %d, want 200", got)
			}
			if got := ory.Calls(); got != tt.healthOryCalls+1 {
				t.Errorf("whoami calls in all: %d, want %d", got, tt.healthOryCalls+1)
			}
		})
	}
}
