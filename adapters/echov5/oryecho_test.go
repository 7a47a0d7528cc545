package oryecho_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	client "github.com/ory/client-go"
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

// TestDenialIsAnsweredOnce: the middleware writes the guard's answer itself
// and returns nil, so Echo's HTTPErrorHandler never runs for a denial and
// the response is exactly the guard's.
func TestDenialIsAnsweredOnce(t *testing.T) {
	a := newApp(t)
	a.GET("/x", func(*echo.Context) error {
		t.Error("the protected handler ran")
		return nil
	}, oryecho.Middleware(a.guard))
	for _, tc := range []struct {
		name        string
		header      []string
		status      int
		contentType []string
		body        string
	}{
		{"browser", []string{"Accept", "text/html"}, http.StatusSeeOther, nil, ""},
		{"API client", []string{"Accept", "application/json"}, http.StatusUnauthorized, []string{"application/json; charset=utf-8"}, `{"error":{"code":401`},
		{"HEAD from an API client", []string{"Accept", "application/json"}, http.StatusUnauthorized, []string{"application/json; charset=utf-8"}, `{"error":{"code":401`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(tc.name, "HEAD") {
				method = http.MethodHead
				a.HEAD("/x", func(*echo.Context) error { return fmt.Errorf("handler ran") }, oryecho.Middleware(a.guard))
			}
			before := a.errors
			rec := a.do(method, "/x", tc.header...)
			if a.errors != before {
				t.Fatalf("HTTPErrorHandler ran %d times, want 0", a.errors-before)
			}
			if rec.Code != tc.status || !strings.HasPrefix(rec.Body.String(), tc.body) || (tc.body == "" && rec.Body.Len() != 0) {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.body)
			}
			if got := rec.Header().Values("Content-Type"); len(got) != len(tc.contentType) || (len(got) == 1 && got[0] != tc.contentType[0]) {
				t.Fatalf("Content-Type %q, want %q", got, tc.contentType)
			}
		})
	}
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

func TestSkipperSkipsTheGuard(t *testing.T) {
	a := newApp(t)
	a.Use(oryecho.MiddlewareWithConfig(a.guard, oryecho.Config{
		Skipper: func(c *echo.Context) bool { return c.Request().URL.Path == "/health" },
	}))
	a.GET("/*", func(c *echo.Context) error {
		if _, ok := oryecho.Session(c); ok {
			t.Error("a skipped request has a session")
		}
		return c.NoContent(http.StatusNoContent)
	})
	if rec := a.do(http.MethodGet, "/health"); rec.Code != http.StatusNoContent {
		t.Fatalf("/health: %d, want 204", rec.Code)
	}
	if n := a.ory.Calls(); n != 0 {
		t.Fatalf("Ory was asked %d times for a skipped request", n)
	}
	if rec := a.do(http.MethodGet, "/private"); rec.Code != http.StatusSeeOther {
		t.Fatalf("/private: %d, want 303", rec.Code)
	}
}

// TestSessionInEchoStoreAndRequestContext covers a required route with a
// session and an optional one without (nil Skipper: never skip).
func TestSessionInEchoStoreAndRequestContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options []core.Option
		header  []string
		wantID  string
	}{
		{"required, with session", nil, []string{"Cookie", goodCookie}, "s-1"},
		{"optional, anonymous", []core.Option{core.Optional()}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t)
			var stored, inCtx *client.Session
			var okStored, okCtx bool
			a.GET("/x", func(c *echo.Context) error {
				stored, okStored = oryecho.Session(c)
				inCtx, okCtx = core.SessionFromContext(c.Request().Context())
				return c.NoContent(http.StatusNoContent)
			}, oryecho.MiddlewareWithConfig(a.guard, oryecho.Config{Options: tc.options}))
			if rec := a.do(http.MethodGet, "/x", tc.header...); rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204", rec.Code)
			}
			if okStored != (tc.wantID != "") || okCtx != okStored || stored != inCtx || (okStored && stored.Id != tc.wantID) {
				t.Fatalf("store %v %v, request context %v %v; want session %q in both", stored, okStored, inCtx, okCtx, tc.wantID)
			}
		})
	}
}

func TestSessionAccessorWithoutTheMiddleware(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	for _, v := range []any{nil, fmt.Errorf("not a session"), (*client.Session)(nil)} {
		if v != nil {
			c.Set(oryecho.SessionKey, v)
		}
		if s, ok := oryecho.Session(c); ok || s != nil {
			t.Errorf("stored %#v: Session = %v, %v; want nil, false", v, s, ok)
		}
	}
}

func TestSetCookieFromWhoamiOnAllow(t *testing.T) {
	a := newApp(t)
	const setCookie = "ory_kratos_session=extended; Path=/; HttpOnly"
	body, _ := json.Marshal(orytest.ActiveSession("s-2", "bob@example.com"))
	a.ory.Reply("extend-me", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {setCookie, "other=x"}}})
	a.GET("/x", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") }, oryecho.Middleware(a.guard))
	rec := a.do(http.MethodGet, "/x", "Cookie", "ory_kratos_session=extend-me")
	if got := rec.Header().Values("Set-Cookie"); rec.Code != http.StatusOK || len(got) != 1 || got[0] != setCookie {
		t.Fatalf("%d Set-Cookie %q, want 200 [%q]", rec.Code, got, setCookie)
	}
}

func TestRefreshAndLogoutHandlers(t *testing.T) {
	a := newApp(t)
	a.GET("/refresh", oryecho.RefreshHandler(a.guard))
	a.GET("/logout", oryecho.LogoutHandler(a.guard))
	for _, tc := range []struct {
		target, cookie, location string
		prefix                   bool
	}{
		{"/refresh?return_to=/settings", "", a.ory.URL + "/self-service/login/browser?refresh=true&return_to=%2Fsettings", false},
		{"/logout", goodCookie, a.ory.URL + "/self-service/logout?token=", true},
		{"/logout?return_to=/bye", "", "/bye", false},
	} {
		var header []string
		if tc.cookie != "" {
			header = []string{"Cookie", tc.cookie}
		}
		rec := a.do(http.MethodGet, tc.target, header...)
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || (tc.prefix && !strings.HasPrefix(loc, tc.location)) || (!tc.prefix && loc != tc.location) {
			t.Errorf("%s: %d %q, want 303 %q", tc.target, rec.Code, loc, tc.location)
		}
	}
	if a.errors != 0 {
		t.Fatalf("HTTPErrorHandler ran %d times", a.errors)
	}
}
