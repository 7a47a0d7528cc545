package oryfiber_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	client "github.com/ory/client-go"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// fixture is a fake Ory that knows one session, and a guard asking it.
type fixture struct {
	ory   *orytest.Server
	guard *core.Guard
}

const goodCookie = "ory_kratos_session=valid-cookie"

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{ory: orytest.NewServer()}
	t.Cleanup(f.ory.Close)
	f.ory.Session("valid-cookie", orytest.ActiveSession("s-1", "ada@example.com"))
	g, err := core.New(core.Config{OryURL: f.ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.guard = g
	return f
}

// do serves one request through app (fasthttp over an in-memory
// connection) and returns the response with its body read.
func do(t *testing.T, app *fiber.App, method, target string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
	var b []byte
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp, string(b)
}

func TestDeniedRequestsEndTheChain(t *testing.T) {
	f := newFixture(t)
	app := fiber.New()
	app.Use(oryfiber.Middleware(f.guard))
	app.Get("/x", func(fiber.Ctx) error {
		t.Error("the protected handler ran")
		return nil
	})
	for _, tc := range []struct {
		name        string
		header      []string
		status      int
		contentType []string // nil: none at all
		body        string   // prefix
	}{
		{"browser", []string{"Accept", "text/html"}, http.StatusSeeOther, nil, ""},
		{"API client", []string{"Accept", "application/json"}, http.StatusUnauthorized, []string{"application/json; charset=utf-8"}, `{"error":{"code":401`},
		{"unknown token", []string{"X-Session-Token", "ory_st_unknown"}, http.StatusUnauthorized, []string{"application/json; charset=utf-8"}, `{"error":{"code":401`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, app, http.MethodGet, "/x", tc.header...)
			if resp.StatusCode != tc.status || !strings.HasPrefix(body, tc.body) || (tc.body == "" && body != "") {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if got := resp.Header.Values("Content-Type"); fmt.Sprint(got) != fmt.Sprint(tc.contentType) {
				t.Fatalf("Content-Type %q, want %q", got, tc.contentType)
			}
			if tc.status == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), f.ory.URL+"/self-service/login/browser?return_to=%2Fx") {
				t.Fatalf("Location %q", resp.Header.Get("Location"))
			}
		})
	}
}

func TestNextSkipsTheGuard(t *testing.T) {
	f := newFixture(t)
	app := fiber.New()
	app.Use(oryfiber.New(f.guard, oryfiber.Config{Next: func(c fiber.Ctx) bool { return c.Path() == "/health" }}))
	app.Get("/*", func(c fiber.Ctx) error {
		if _, ok := oryfiber.Session(c); ok {
			t.Error("a skipped request has a session")
		}
		return c.SendStatus(http.StatusNoContent)
	})
	if resp, _ := do(t, app, http.MethodGet, "/health"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("/health: %d, want 204", resp.StatusCode)
	}
	if n := f.ory.Calls(); n != 0 {
		t.Fatalf("Ory was asked %d times for a skipped request", n)
	}
	if resp, _ := do(t, app, http.MethodGet, "/private"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/private: %d, want 303", resp.StatusCode)
	}
}

type appKey struct{}

// TestSessionInLocalsAndContext: the session is in c.Locals and in the
// context Fiber v3 carries for the request (c.Context()), and that context
// still holds what earlier middleware put there with c.SetContext.
func TestSessionInLocalsAndContext(t *testing.T) {
	f := newFixture(t)
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
			var local, inCtx *client.Session
			var okLocal, okCtx bool
			var appValue any
			app := fiber.New()
			app.Use(func(c fiber.Ctx) error {
				c.SetContext(context.WithValue(c.Context(), appKey{}, "kept"))
				return c.Next()
			})
			app.Get("/x", oryfiber.New(f.guard, oryfiber.Config{Options: tc.options}), func(c fiber.Ctx) error {
				local, okLocal = oryfiber.Session(c)
				inCtx, okCtx = core.SessionFromContext(c.Context())
				appValue = c.Context().Value(appKey{})
				return c.SendStatus(http.StatusNoContent)
			})
			if resp, _ := do(t, app, http.MethodGet, "/x", tc.header...); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			if okLocal != (tc.wantID != "") || okCtx != okLocal || local != inCtx || (okLocal && local.Id != tc.wantID) {
				t.Fatalf("locals %v %v, context %v %v; want session %q in both", local, okLocal, inCtx, okCtx, tc.wantID)
			}
			if appValue != "kept" {
				t.Fatalf("the app's context value is %v after the middleware", appValue)
			}
		})
	}
}

func TestSessionAccessorWithoutTheMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error {
		for _, v := range []any{nil, "not a session", (*client.Session)(nil)} {
			if v != nil {
				c.Locals(oryfiber.SessionKey, v)
			}
			if s, ok := oryfiber.Session(c); ok || s != nil {
				t.Errorf("Locals %#v: Session = %v, %v; want nil, false", v, s, ok)
			}
		}
		return nil
	})
	do(t, app, http.MethodGet, "/")
}

// TestAllowedRequestHeaders: whoami's Set-Cookie (session cookies only)
// reaches the client byte for byte, and a session cookie in a second
// Cookie header is found; Ory sees nothing but the session cookie.
func TestAllowedRequestHeaders(t *testing.T) {
	f := newFixture(t)
	const setCookie = "ory_kratos_session=extended; Path=/; Expires=Wed, 21 Oct 2099 07:28:00 GMT; HttpOnly; SameSite=Lax"
	body, _ := json.Marshal(orytest.ActiveSession("s-2", "bob@example.com"))
	f.ory.Reply("extend-me", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {setCookie, "other=x"}}})
	app := fiber.New()
	app.Get("/x", oryfiber.Middleware(f.guard), func(c fiber.Ctx) error { return c.SendString("ok") })

	resp, _ := do(t, app, http.MethodGet, "/x", "Cookie", "ory_kratos_session=extend-me")
	if got := resp.Header.Values("Set-Cookie"); resp.StatusCode != http.StatusOK || len(got) != 1 || got[0] != setCookie {
		t.Fatalf("%d Set-Cookie %q, want 200 [%q]", resp.StatusCode, got, setCookie)
	}
	f.ory.Reset()
	resp, _ = do(t, app, http.MethodGet, "/x", "Cookie", "theme=dark", "Cookie", goodCookie)
	if reqs := f.ory.Requests(); resp.StatusCode != http.StatusOK || len(reqs) != 1 || reqs[0].Cookie != goodCookie {
		t.Fatalf("%d; Ory saw %+v", resp.StatusCode, reqs)
	}
}

func TestRefreshAndLogoutHandlers(t *testing.T) {
	f := newFixture(t)
	app := fiber.New()
	app.Get("/refresh", oryfiber.RefreshHandler(f.guard))
	app.Get("/logout", oryfiber.LogoutHandler(f.guard))
	for _, tc := range []struct {
		target, cookie, location string
		prefix                   bool
	}{
		{"/refresh?return_to=/settings", "", f.ory.URL + "/self-service/login/browser?refresh=true&return_to=%2Fsettings", false},
		{"/logout", goodCookie, f.ory.URL + "/self-service/logout?token=", true},
		{"/logout?return_to=/bye", "", "/bye", false},
	} {
		var header []string
		if tc.cookie != "" {
			header = []string{"Cookie", tc.cookie}
		}
		resp, _ := do(t, app, http.MethodGet, tc.target, header...)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || (tc.prefix && !strings.HasPrefix(loc, tc.location)) || (!tc.prefix && loc != tc.location) {
			t.Errorf("%s: %d %q, want 303 %q", tc.target, resp.StatusCode, loc, tc.location)
		}
	}
}
