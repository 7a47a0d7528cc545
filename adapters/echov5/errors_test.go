package oryecho_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
)

// TestErrorHandler: the config form's ErrorHandler gets the *core.Denial;
// an error it returns reaches Echo's HTTPErrorHandler exactly once; one that
// writes its own answer (or DefaultErrorHandler) returns nil and Echo's
// handler never runs.
func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(*echo.Context, error) error
		status  int
		errors  int
	}{
		{"custom page", func(c *echo.Context, err error) error {
			if !errors.Is(err, core.ErrNoSession) {
				t.Errorf("ErrorHandler got %v, want core.ErrNoSession", err)
			}
			return c.HTML(http.StatusUnauthorized, "<p>please sign in</p>")
		}, http.StatusUnauthorized, 0},
		{"returned error", func(*echo.Context, error) error { return echo.ErrForbidden }, http.StatusForbidden, 1},
		{"returned denial", func(_ *echo.Context, err error) error { return err }, http.StatusInternalServerError, 1},
		{"wrapping the default", func(c *echo.Context, err error) error { return oryecho.DefaultErrorHandler(c, err) }, http.StatusSeeOther, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t)
			a.GET("/x", func(*echo.Context) error {
				t.Error("the protected handler ran")
				return nil
			}, oryecho.MiddlewareWithConfig(a.guard, oryecho.Config{ErrorHandler: tc.handler}))
			if rec := a.do(http.MethodGet, "/x", "Accept", "text/html"); rec.Code != tc.status || a.errors != tc.errors {
				t.Fatalf("status %d, HTTPErrorHandler ran %d times; want %d, %d", rec.Code, a.errors, tc.status, tc.errors)
			}
		})
	}
}

func TestDefaultErrorHandlerWithAnotherError(t *testing.T) {
	a := newApp(t)
	a.GET("/", func(c *echo.Context) error { return oryecho.DefaultErrorHandler(c, errors.New("not a denial")) })
	rec := a.do(http.MethodGet, "/")
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != "Internal Server Error\n" || a.errors != 0 ||
		rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%d %q %v, HTTPErrorHandler ran %d times", rec.Code, rec.Body, rec.Header(), a.errors)
	}
}

// TestSessionError: nil with a session, the denial (ErrNoSession) on an
// optional route without one, ErrNoSession where the middleware did not
// run (skipped).
func TestSessionError(t *testing.T) {
	a := newApp(t)
	var got error
	read := func(c *echo.Context) error {
		got = oryecho.SessionError(c)
		return c.NoContent(http.StatusNoContent)
	}
	a.GET("/optional", read, oryecho.Middleware(a.guard, core.Optional()))
	a.GET("/skipped", read, oryecho.MiddlewareWithConfig(a.guard, oryecho.Config{Skipper: func(*echo.Context) bool { return true }}))
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
		a.do(http.MethodGet, tc.target, header...)
		var d *core.Denial
		if !errors.Is(got, tc.want) || (tc.want == nil && got != nil) || errors.As(got, &d) != tc.denial {
			t.Errorf("%s with cookie %q: SessionError = %v, want %v (a *core.Denial: %v)", tc.target, tc.cookie, got, tc.want, tc.denial)
		}
	}
}
