package oryecho_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	client "github.com/ory/client-go"
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

func TestDenialDoesNotInvokeErrorHandler(t *testing.T) {
	_, guard := setup(t)
	for _, accept := range []string{"text/html", "application/json"} {
		e := echo.New()
		calls := countErrors(e)
		e.GET("/x", func(c echo.Context) error {
			t.Error("handler ran")
			return nil
		}, oryecho.Middleware(guard))
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("Accept", accept)
		rec := serve(e, req)
		if *calls != 0 {
			t.Fatalf("Accept %s: HTTPErrorHandler ran %d times, want 0", accept, *calls)
		}
		switch accept {
		case "text/html":
			if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "return_to=%2Fx") {
				t.Fatalf("browser: %d %q", rec.Code, rec.Header().Get("Location"))
			}
			if _, ok := rec.Header()["Content-Type"]; ok {
				t.Fatalf("redirect has a Content-Type: %q", rec.Header()["Content-Type"])
			}
		default:
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" ||
				!strings.HasPrefix(rec.Body.String(), `{"error":{"code":401`) {
				t.Fatalf("API: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
	}
}

func TestHandlerErrorsStillReachErrorHandler(t *testing.T) {
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

func TestSkipperBypassesGuard(t *testing.T) {
	ory, guard := setup(t)
	e := echo.New()
	ran := false
	e.Use(oryecho.MiddlewareWithConfig(guard, oryecho.Config{
		Skipper: func(c echo.Context) bool { return c.Path() == "/health" },
	}))
	e.GET("/health", func(c echo.Context) error {
		ran = true
		if _, ok := oryecho.Session(c); ok {
			t.Error("skipped request has a session")
		}
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/private", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/health", nil)); rec.Code != http.StatusNoContent || !ran {
		t.Fatalf("/health: status %d, handler ran %v", rec.Code, ran)
	}
	if n := ory.Calls(); n != 0 {
		t.Fatalf("Ory was asked %d times for a skipped request", n)
	}
	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/private", nil)); rec.Code != http.StatusSeeOther {
		t.Fatalf("/private: status %d, want 303", rec.Code)
	}
}

func TestNilSkipperAndOptions(t *testing.T) {
	_, guard := setup(t)
	e := echo.New()
	e.Use(oryecho.MiddlewareWithConfig(guard, oryecho.Config{Options: []core.Option{core.Optional()}}))
	ran := false
	e.GET("/x", func(c echo.Context) error {
		ran = true
		if _, ok := oryecho.Session(c); ok {
			t.Error("anonymous request has a session")
		}
		if _, ok := core.SessionFromContext(c.Request().Context()); ok {
			t.Error("anonymous request context has a session")
		}
		return nil
	})
	serve(e, httptest.NewRequest(http.MethodGet, "/x", nil))
	if !ran {
		t.Fatal("handler did not run on an optional route")
	}
}

func TestSessionInEchoContextAndRequestContext(t *testing.T) {
	_, guard := setup(t)
	var fromEcho, fromCtx *client.Session
	var okEcho, okCtx bool
	e := echo.New()
	e.GET("/x", func(c echo.Context) error {
		fromEcho, okEcho = oryecho.Session(c)
		fromCtx, okCtx = core.SessionFromContext(c.Request().Context())
		return c.NoContent(http.StatusNoContent)
	}, oryecho.Middleware(guard))
	rec := serve(e, withCookie("/x"))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", rec.Code)
	}
	if !okEcho || !okCtx || fromEcho.Id != "s-1" || fromEcho != fromCtx {
		t.Fatalf("echo store: %v %v; request context: %v %v", fromEcho, okEcho, fromCtx, okCtx)
	}
}

func TestSessionWithoutMiddleware(t *testing.T) {
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	if s, ok := oryecho.Session(c); ok || s != nil {
		t.Fatalf("Session = %v, %v; want nil, false", s, ok)
	}
	c.Set(oryecho.SessionKey, errors.New("not a session"))
	if _, ok := oryecho.Session(c); ok {
		t.Fatal("Session reported true for a foreign value")
	}
}

func TestSetCookiePassedThroughOnAllow(t *testing.T) {
	ory, guard := setup(t)
	const setCookie = "ory_kratos_session=extended; Path=/; HttpOnly"
	body, _ := json.Marshal(orytest.ActiveSession("s-2", "bob@example.com"))
	ory.Reply("extend-me", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {setCookie, "other=x"}}})
	e := echo.New()
	e.GET("/x", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, oryecho.Middleware(guard))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "extend-me"})
	rec := serve(e, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != setCookie {
		t.Fatalf("Set-Cookie = %q, want [%q]", got, setCookie)
	}
}

func TestRefreshAndLogoutHandlers(t *testing.T) {
	ory, guard := setup(t)
	e := echo.New()
	calls := countErrors(e)
	e.GET("/refresh", oryecho.RefreshHandler(guard))
	e.GET("/logout", oryecho.LogoutHandler(guard))

	rec := serve(e, httptest.NewRequest(http.MethodGet, "/refresh?return_to=/settings", nil))
	want := ory.URL + "/self-service/login/browser?refresh=true&return_to=%2Fsettings"
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Fatalf("refresh: %d %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
	}
	rec = serve(e, withCookie("/logout"))
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), ory.URL+"/self-service/logout?token=") {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if *calls != 0 {
		t.Fatalf("HTTPErrorHandler ran %d times", *calls)
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
