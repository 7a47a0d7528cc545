package orygin_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
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
