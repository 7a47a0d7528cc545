package oryecho_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const cookieValue = "valid-cookie"

func setup(t *testing.T) (*orytest.Server, *core.Guard) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(cookieValue, orytest.ActiveSession("s-1", "ada@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ory, guard
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func withCookie(path string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: cookieValue})
	return req
}

// countErrors installs an HTTPErrorHandler that counts its calls and then
// behaves like Echo's default.
func countErrors(e *echo.Echo) *int {
	n := 0
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		n++
		e.DefaultHTTPErrorHandler(err, c)
	}
	return &n
}

// TestHandlerErrorsReachTheErrorHandlerOnce: errors of the handlers behind
// the middleware are returned unchanged and reach Echo's HTTPErrorHandler
// once.
func TestHandlerErrorsReachTheErrorHandlerOnce(t *testing.T) {
	_, guard := setup(t)
	e := echo.New()
	calls := countErrors(e)
	e.GET("/x", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusTeapot, "short and stout")
	}, oryecho.Middleware(guard))
	rec := serve(e, withCookie("/x"))
	if *calls != 1 || rec.Code != http.StatusTeapot {
		t.Fatalf("error handler calls = %d, status = %d; want 1, 418", *calls, rec.Code)
	}
}

// An error the config's ErrorHandler returns reaches Echo's
// HTTPErrorHandler exactly once, and Echo's default handler renders it
// (here an *echo.HTTPError as {"message":...}); the protected handler never
// runs. Behind Echo's RequestLogger with HandleError, which calls the error
// handler itself, the default handler still answers once: it returns early
// on a committed response.
func TestErrorHandlerErrorReachesEchoOnce(t *testing.T) {
	_, guard := setup(t)
	for _, logger := range []bool{false, true} {
		e := echo.New()
		calls := countErrors(e)
		var got error
		if logger {
			e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
				HandleError:   true,
				LogStatus:     true,
				LogValuesFunc: func(echo.Context, middleware.RequestLoggerValues) error { return nil },
			}))
		}
		e.Use(oryecho.MiddlewareWithConfig(guard, oryecho.Config{
			ErrorHandler: func(c echo.Context, err error) error {
				got = err
				return echo.NewHTTPError(http.StatusUnauthorized, "login required")
			},
		}))
		ran := false
		e.GET("/private", func(c echo.Context) error { ran = true; return c.String(http.StatusOK, "secret") })

		rec := serve(e, httptest.NewRequest(http.MethodGet, "/private", nil))
		want := 1
		if logger {
			want = 2 // RequestLogger calls it, then Echo calls it with the returned error
		}
		if *calls != want || ran || rec.Code != http.StatusUnauthorized || rec.Body.String() != "{\"message\":\"login required\"}\n" {
			t.Fatalf("logger=%v: HTTPErrorHandler ran %d times (want %d), handler ran %v, answer %d %q", logger, *calls, want, ran, rec.Code, rec.Body)
		}
		if !errors.Is(got, core.ErrNoSession) {
			t.Fatalf("ErrorHandler got %v, want core.ErrNoSession", got)
		}
	}
}
