package oryfiber

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// decodeCases are request targets for the route /docs/:id as sent on the
// wire, and the id the guard must read for core.PathParam: the segment
// Fiber matched, percent-decoded exactly once; "" (the request is denied)
// for a segment that does not decode, which fasthttp lets through.
var decodeCases = []struct{ name, target, want string }{
	{"plain", "/docs/plain", "plain"},
	{"encoded slash", "/docs/a%2Fb", "a/b"},
	{"encoded hash", "/docs/a%23b", "a#b"},
	{"encoded at", "/docs/%40", "@"},
	{"encoded colon", "/docs/%3A", ":"},
	{"encoded letter", "/docs/%61", "a"},
	{"plus stays", "/docs/a+b", "a+b"},
	{"plus stays next to an escape", "/docs/a+%40", "a+@"},
	{"encoded percent decoded once", "/docs/a%252F", "a%2F"},
	{"encoded percent decoded once, with a RawPath", "/docs/a%252F%40", "a%2F@"},
	{"encoded dots", "/docs/%2E%2E", ".."},
	{"dot segment", "/docs/..", ".."},
	{"unicode, encoded", "/docs/%C3%A9t%C3%A9", "été"},
	{"unicode, lowercase hex", "/docs/%c3%a9", "é"},
	{"unicode, raw bytes", "/docs/été", "été"},
	{"bad escape", "/docs/a%zz", ""},
	{"truncated escape", "/docs/a%2", ""},
}

// listen serves app on a loopback port until the test ends.
func listen(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

// paramApp's route /docs/:id answers with the id and "other" values the
// guard reads for core.PathParam, quoted.
func paramApp(cfg fiber.Config) *fiber.App {
	cfg.DisableStartupMessage = true
	app := fiber.New(cfg)
	app.Get("/docs/:id", func(c *fiber.Ctx) error {
		p := (*pathParams)(c)
		return c.SendString(strconv.Quote(p.Param("id")) + " " + strconv.Quote(p.Param("other")))
	})
	return app
}

// TestPathParamsDecodeOnce serves decodeCases on a real fasthttp server.
func TestPathParamsDecodeOnce(t *testing.T) {
	addr := listen(t, paramApp(fiber.Config{}))
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawGet(t, addr, c.target)
			if want := strconv.Quote(c.want) + ` ""`; status != 200 || body != want {
				t.Errorf("%s: %d %s, want 200 %s", c.target, status, body, want)
			}
		})
	}
}

// TestPathParamsUnescapePath: with Config.UnescapePath Fiber decodes the
// path before routing, so the values are not decoded again (an encoded
// slash is then a slash, and the route does not match).
func TestPathParamsUnescapePath(t *testing.T) {
	addr := listen(t, paramApp(fiber.Config{UnescapePath: true}))
	for _, c := range []struct {
		target string
		status int
		want   string
	}{
		{"/docs/a%252F", 200, "a%2F"},
		{"/docs/%40", 200, "@"},
		{"/docs/a%2Fb", http.StatusNotFound, ""},
	} {
		status, body := rawGet(t, addr, c.target)
		if status != c.status || status == 200 && body != strconv.Quote(c.want)+` ""` {
			t.Errorf("%s: %d %s, want %d %q", c.target, status, body, c.status, c.want)
		}
	}
}

// TestPathParamsInAppUse: a handler installed with app.Use runs before a
// route with parameters has matched, so it reads none (a route with
// core.PathParam is denied there); on the route it reads the value.
func TestPathParamsInAppUse(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	var global, route string
	app.Use(func(c *fiber.Ctx) error {
		global = (*pathParams)(c).Param("id")
		return c.Next()
	})
	app.Get("/docs/:id", func(c *fiber.Ctx) error {
		route = (*pathParams)(c).Param("id")
		return c.Next()
	}, func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	req, err := http.NewRequest(http.MethodGet, "http://app.example/docs/a%2Fb", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || global != "" || route != "a/b" {
		t.Errorf("%d: app.Use read %q, the route %q; want 204, \"\" and \"a/b\"", resp.StatusCode, global, route)
	}
}

// rawGet sends "GET target" as written, on a new connection to addr, and
// returns the status and body; 0 when the server hung up without an answer.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(body)
}
