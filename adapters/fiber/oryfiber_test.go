package oryfiber_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	client "github.com/ory/client-go"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
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

func serve(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func withCookie(path string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: cookieValue})
	return req
}

func TestDenialStopsChain(t *testing.T) {
	_, guard := setup(t)
	app := fiber.New()
	app.Use(oryfiber.Middleware(guard))
	app.Get("/x", func(c *fiber.Ctx) error {
		t.Error("handler ran")
		return nil
	})

	resp, body := serve(t, app, httptest.NewRequest(http.MethodGet, "/x", nil))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/self-service/login/browser?return_to=%2Fx") {
		t.Fatalf("browser: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ct, ok := resp.Header["Content-Type"]; ok {
		t.Fatalf("redirect has Content-Type %q", ct)
	}
	if body != "" {
		t.Fatalf("redirect body = %q", body)
	}

	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Accept", "application/json")
	resp, body = serve(t, app, req)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		!strings.HasPrefix(body, `{"error":{"code":401`) {
		t.Fatalf("API: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestNextBypassesGuard(t *testing.T) {
	ory, guard := setup(t)
	app := fiber.New()
	app.Use(oryfiber.New(guard, oryfiber.Config{Next: func(c *fiber.Ctx) bool { return c.Path() == "/health" }}))
	ran := false
	app.Get("/health", func(c *fiber.Ctx) error {
		ran = true
		if _, ok := oryfiber.Session(c); ok {
			t.Error("skipped request has a session")
		}
		return c.SendStatus(http.StatusNoContent)
	})
	app.Get("/private", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })

	if resp, _ := serve(t, app, httptest.NewRequest(http.MethodGet, "/health", nil)); resp.StatusCode != http.StatusNoContent || !ran {
		t.Fatalf("/health: status %d, handler ran %v", resp.StatusCode, ran)
	}
	if n := ory.Calls(); n != 0 {
		t.Fatalf("Ory was asked %d times for a skipped request", n)
	}
	if resp, _ := serve(t, app, httptest.NewRequest(http.MethodGet, "/private", nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/private: status %d, want 303", resp.StatusCode)
	}
}

func TestSessionInLocalsAndUserContext(t *testing.T) {
	_, guard := setup(t)
	var fromLocals, fromCtx *client.Session
	var okLocals, okCtx bool
	app := fiber.New()
	app.Get("/x", oryfiber.Middleware(guard), func(c *fiber.Ctx) error {
		fromLocals, okLocals = oryfiber.Session(c)
		fromCtx, okCtx = core.SessionFromContext(c.UserContext())
		return c.SendStatus(http.StatusNoContent)
	})
	if resp, _ := serve(t, app, withCookie("/x")); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", resp.StatusCode)
	}
	if !okLocals || !okCtx || fromLocals.Id != "s-1" || fromLocals != fromCtx {
		t.Fatalf("locals: %v %v; user context: %v %v", fromLocals, okLocals, fromCtx, okCtx)
	}
}

func TestSessionWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		if s, ok := oryfiber.Session(c); ok || s != nil {
			t.Errorf("Session = %v, %v; want nil, false", s, ok)
		}
		c.Locals(oryfiber.SessionKey, "not a session")
		if _, ok := oryfiber.Session(c); ok {
			t.Error("Session reported true for a foreign value")
		}
		return nil
	})
	serve(t, app, httptest.NewRequest(http.MethodGet, "/", nil))
}

func TestOptionalWithoutSession(t *testing.T) {
	_, guard := setup(t)
	app := fiber.New()
	ran := false
	app.Get("/x", oryfiber.New(guard, oryfiber.Config{Options: []core.Option{core.Optional()}}), func(c *fiber.Ctx) error {
		ran = true
		if _, ok := oryfiber.Session(c); ok {
			t.Error("anonymous request has a session")
		}
		if _, ok := core.SessionFromContext(c.UserContext()); ok {
			t.Error("anonymous user context has a session")
		}
		return nil
	})
	serve(t, app, httptest.NewRequest(http.MethodGet, "/x", nil))
	if !ran {
		t.Fatal("handler did not run on an optional route")
	}
}

func TestSetCookiePassedThroughOnAllow(t *testing.T) {
	ory, guard := setup(t)
	const setCookie = "ory_kratos_session=extended; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT; HttpOnly; SameSite=Lax"
	body, _ := json.Marshal(orytest.ActiveSession("s-2", "bob@example.com"))
	ory.Reply("extend-me", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {setCookie, "other=x"}}})
	app := fiber.New()
	app.Get("/x", oryfiber.Middleware(guard), func(c *fiber.Ctx) error { return c.SendString("ok") })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "extend-me"})
	resp, _ := serve(t, app, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != setCookie {
		t.Fatalf("Set-Cookie = %q, want [%q] byte for byte", got, setCookie)
	}
}

func TestEveryCookieHeaderIsRead(t *testing.T) {
	ory, guard := setup(t)
	app := fiber.New()
	app.Get("/x", oryfiber.Middleware(guard), func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Add("Cookie", "theme=dark")
	req.Header.Add("Cookie", "ory_kratos_session="+cookieValue)
	if resp, _ := serve(t, app, req); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d, want 204 (session cookie in the second Cookie header)", resp.StatusCode)
	}
	reqs := ory.Requests()
	if len(reqs) != 1 || reqs[0].Cookie != "ory_kratos_session="+cookieValue {
		t.Fatalf("Ory saw %+v", reqs)
	}
}

func TestRefreshAndLogoutHandlers(t *testing.T) {
	ory, guard := setup(t)
	app := fiber.New()
	app.Get("/refresh", oryfiber.RefreshHandler(guard))
	app.Get("/logout", oryfiber.LogoutHandler(guard))

	resp, _ := serve(t, app, httptest.NewRequest(http.MethodGet, "/refresh?return_to=/settings", nil))
	want := ory.URL + "/self-service/login/browser?refresh=true&return_to=%2Fsettings"
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("refresh: %d %q, want 303 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, _ = serve(t, app, withCookie("/logout"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), ory.URL+"/self-service/logout?token=") {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestConcurrentRequestsOnRealServer serves many users at once through a
// real fasthttp listener (which reuses request memory between requests),
// so that the race detector and the per-user check catch any request
// string or *fiber.Ctx kept past its handler.
func TestConcurrentRequestsOnRealServer(t *testing.T) {
	ory, guard := setup(t)
	const users = 40
	for i := range users {
		ory.Session(fmt.Sprintf("cookie-%02d", i), orytest.ActiveSession(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d@example.com", i)))
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/me", oryfiber.Middleware(guard), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		return c.SendString(s.Id)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	t.Cleanup(func() {
		hc.CloseIdleConnections() // fasthttp's Shutdown waits for open keep-alive connections
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})

	var wg sync.WaitGroup
	for round := range 3 {
		for i := range users {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/me", nil)
				req.Header.Set("Cookie", fmt.Sprintf("app=%d; ory_kratos_session=cookie-%02d", round, i))
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if want := fmt.Sprintf("s-%02d", i); resp.StatusCode != http.StatusOK || string(body) != want {
					t.Errorf("user %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
				}
			})
		}
	}
	wg.Wait()
}
