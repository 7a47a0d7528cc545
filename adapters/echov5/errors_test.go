package oryecho_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echov5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const goodCookie = "ory_kratos_session=valid-cookie"

// app is an Echo whose HTTPErrorHandler counts its calls before doing what
// Echo's default does, with a fake Ory and a guard asking it.
type app struct {
	*echo.Echo
	ory    *orytest.Server
	guard  *core.Guard
	errors int
}

func newApp(t *testing.T) *app {
	t.Helper()
	a := &app{Echo: echo.New(), ory: orytest.NewServer()}
	t.Cleanup(a.ory.Close)
	a.ory.Session("valid-cookie", orytest.ActiveSession("s-1", "ada@example.com"))
	g, err := core.New(core.Config{OryURL: a.ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.guard = g
	def := echo.DefaultHTTPErrorHandler(false)
	a.HTTPErrorHandler = func(c *echo.Context, err error) {
		a.errors++
		def(c, err)
	}
	return a
}

func (a *app) do(method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec
}

// TestHandlerErrorsReachTheErrorHandlerOnce: errors of the handlers behind
// the middleware are returned unchanged.
func TestHandlerErrorsReachTheErrorHandlerOnce(t *testing.T) {
	a := newApp(t)
	a.GET("/x", func(*echo.Context) error {
		return echo.NewHTTPError(http.StatusTeapot, "short and stout")
	}, oryecho.Middleware(a.guard))
	rec := a.do(http.MethodGet, "/x", "Cookie", goodCookie)
	if a.errors != 1 || rec.Code != http.StatusTeapot {
		t.Fatalf("error handler calls %d, status %d; want 1, 418", a.errors, rec.Code)
	}
}
