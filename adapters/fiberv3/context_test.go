package oryfiber_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
