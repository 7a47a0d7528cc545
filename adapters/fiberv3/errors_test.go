package oryfiber_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v3"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
)

// TestErrorHandler: the config form's ErrorHandler gets the *core.Denial;
// an error it returns reaches the app's fiber.Config.ErrorHandler exactly
// once; DefaultErrorHandler writes the standard answer and returns nil.
func TestErrorHandler(t *testing.T) {
	f := newFixture(t)
	errPage := errors.New("render the login page yourself")
	for _, tc := range []struct {
		name      string
		handler   fiber.ErrorHandler
		status    int
		appErrors int
	}{
		{"custom page", func(c fiber.Ctx, err error) error {
			if !errors.Is(err, core.ErrNoSession) {
				t.Errorf("ErrorHandler got %v, want core.ErrNoSession", err)
			}
			return c.Status(http.StatusUnauthorized).SendString("please sign in")
		}, http.StatusUnauthorized, 0},
		{"returned error", func(fiber.Ctx, error) error { return errPage }, http.StatusTeapot, 1},
		{"wrapping the default", func(c fiber.Ctx, err error) error { return oryfiber.DefaultErrorHandler(c, err) }, http.StatusSeeOther, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			appErrors := 0
			app := fiber.New(fiber.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
				appErrors++
				if !errors.Is(err, errPage) {
					t.Errorf("app ErrorHandler got %v", err)
				}
				return c.SendStatus(http.StatusTeapot)
			}})
			app.Get("/x", oryfiber.New(f.guard, oryfiber.Config{ErrorHandler: tc.handler}), func(fiber.Ctx) error {
				t.Error("the protected handler ran")
				return nil
			})
			if resp, _ := do(t, app, http.MethodGet, "/x", "Accept", "text/html"); resp.StatusCode != tc.status || appErrors != tc.appErrors {
				t.Fatalf("status %d, app ErrorHandler ran %d times; want %d, %d", resp.StatusCode, appErrors, tc.status, tc.appErrors)
			}
		})
	}
}

func TestDefaultErrorHandlerWithAnotherError(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error { return oryfiber.DefaultErrorHandler(c, errors.New("not a denial")) })
	resp, body := do(t, app, http.MethodGet, "/")
	if resp.StatusCode != http.StatusInternalServerError || body != "Internal Server Error\n" ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestSessionError: nil with a session, the denial (ErrNoSession) on an
// optional route without one, ErrNoSession where the middleware did not
// run (skipped by Next).
func TestSessionError(t *testing.T) {
	f := newFixture(t)
	var got error
	app := fiber.New()
	read := func(c fiber.Ctx) error {
		got = oryfiber.SessionError(c)
		return c.SendStatus(http.StatusNoContent)
	}
	app.Get("/optional", oryfiber.Middleware(f.guard, core.Optional()), read)
	app.Get("/skipped", oryfiber.New(f.guard, oryfiber.Config{Next: func(fiber.Ctx) bool { return true }}), read)
	for _, tc := range []struct {
		target, cookie string
		want           error
		denial         bool
	}{
		{"/optional", goodCookie, nil, false},
		{"/optional", "", core.ErrNoSession, true},
		{"/skipped", goodCookie, core.ErrNoSession, false},
	} {
		got = errors.New("handler did not run")
		var header []string
		if tc.cookie != "" {
			header = []string{"Cookie", tc.cookie}
		}
		do(t, app, http.MethodGet, tc.target, header...)
		var d *core.Denial
		if !errors.Is(got, tc.want) || (tc.want == nil && got != nil) || errors.As(got, &d) != tc.denial {
			t.Errorf("%s with cookie %q: SessionError = %v, want %v (a *core.Denial: %v)", tc.target, tc.cookie, got, tc.want, tc.denial)
		}
	}
}
