package orygin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	client "github.com/ory/client-go"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const cookieValue = "valid-cookie"

func setup(t *testing.T) (*orytest.Server, *core.Guard) {
	t.Helper()
	gin.SetMode(gin.TestMode)
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

func TestAbortStopsLaterHandlers(t *testing.T) {
	_, guard := setup(t)
	var later, handler bool
	r := gin.New()
	r.Use(orygin.Middleware(guard))
	r.Use(func(c *gin.Context) { later = true })
	r.GET("/x", func(c *gin.Context) { handler = true })

	rec := serve(r, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", rec.Code)
	}
	if later || handler {
		t.Fatalf("later middleware ran: %v, handler ran: %v; want neither", later, handler)
	}
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "/self-service/login/browser?return_to=%2Fx") {
		t.Fatalf("Location = %q", loc)
	}
}

func TestDenialAPIClient(t *testing.T) {
	_, guard := setup(t)
	r := gin.New()
	r.GET("/x", orygin.Middleware(guard), func(c *gin.Context) { t.Error("handler ran") })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Accept", "application/json")
	rec := serve(r, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if !strings.Contains(rec.Body.String(), `"code":401`) {
		t.Fatalf("body = %s", rec.Body)
	}
}

func TestSessionInGinContextAndRequestContext(t *testing.T) {
	_, guard := setup(t)
	var fromGin, fromCtx *client.Session
	var okGin, okCtx bool
	r := gin.New()
	r.GET("/x", orygin.Middleware(guard), func(c *gin.Context) {
		fromGin, okGin = orygin.Session(c)
		fromCtx, okCtx = core.SessionFromContext(c.Request.Context())
		c.Status(http.StatusNoContent)
	})
	rec := serve(r, withCookie("/x"))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", rec.Code)
	}
	if !okGin || !okCtx || fromGin.Id != "s-1" || fromGin != fromCtx {
		t.Fatalf("gin store: %v %v; request context: %v %v", fromGin, okGin, fromCtx, okCtx)
	}
}

func TestSessionWithoutMiddleware(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	if s, ok := orygin.Session(c); ok || s != nil {
		t.Fatalf("Session = %v, %v; want nil, false", s, ok)
	}
	c.Set(orygin.SessionKey, "not a session")
	if _, ok := orygin.Session(c); ok {
		t.Fatal("Session reported true for a foreign value")
	}
}

func TestOptionalWithoutSession(t *testing.T) {
	_, guard := setup(t)
	ran := false
	r := gin.New()
	r.GET("/x", orygin.Middleware(guard, core.Optional()), func(c *gin.Context) {
		ran = true
		if s, ok := orygin.Session(c); ok {
			t.Errorf("Session = %v, want none", s)
		}
		if _, ok := core.SessionFromContext(c.Request.Context()); ok {
			t.Error("request context has a session")
		}
	})
	serve(r, httptest.NewRequest(http.MethodGet, "/x", nil))
	if !ran {
		t.Fatal("handler did not run on an optional route")
	}
}

func TestSetCookiePassedThroughOnAllow(t *testing.T) {
	ory, guard := setup(t)
	const setCookie = "ory_kratos_session=extended; Path=/; HttpOnly"
	sess := orytest.ActiveSession("s-2", "bob@example.com")
	body, _ := sessionJSON(sess)
	ory.Reply("extend-me", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {setCookie, "other=x"}}})
	r := gin.New()
	r.GET("/x", orygin.Middleware(guard), func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "extend-me"})
	rec := serve(r, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Header().Values("Set-Cookie"); len(got) != 1 || got[0] != setCookie {
		t.Fatalf("Set-Cookie = %q, want [%q]", got, setCookie)
	}
}

func TestRefreshAndLogoutHandlers(t *testing.T) {
	ory, guard := setup(t)
	r := gin.New()
	r.GET("/refresh", orygin.RefreshHandler(guard))
	r.GET("/logout", orygin.LogoutHandler(guard))

	rec := serve(r, httptest.NewRequest(http.MethodGet, "/refresh?return_to=/settings", nil))
	want := ory.URL + "/self-service/login/browser?refresh=true&return_to=%2Fsettings"
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Fatalf("refresh: %d %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
	}

	rec = serve(r, withCookie("/logout"))
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), ory.URL+"/self-service/logout?token=") {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestRequestContextCancellationReachesGuard(t *testing.T) {
	ory, _ := setup(t)
	ory.ReplyAll(&orytest.Reply{Hang: true})
	// A short guard timeout ends the detached lookup quickly, so that
	// ory.Close does not wait for it.
	guard, err := core.New(core.Config{OryURL: ory.URL, Timeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/x", orygin.Middleware(guard), func(c *gin.Context) { t.Error("handler ran") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := serve(r, withCookie("/x").WithContext(ctx))
	if rec.Code < 500 {
		t.Fatalf("status = %d, want a 5xx for a request whose context ended", rec.Code)
	}
}

func sessionJSON(s client.Session) ([]byte, error) { return json.Marshal(s) }
