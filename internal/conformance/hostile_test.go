package conformance_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	fiberv2 "github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	echov4 "github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Hostile input through every adapter on a real server, bytes as written
// on the wire: the fasthttp servers (Fiber v2, v3) parse request targets
// and headers differently from net/http's (net/http, Gin, Echo v4, v5), so
// each is checked on its own listener, not through a recorder.

// realServer starts the protected route of one adapter on a loopback
// listener; ran counts the protected handler's runs.
type realServer func(t *testing.T, g *core.Guard, ran *atomic.Int64) (addr string)

func httpServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func loopback(t *testing.T) net.Listener {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

var realServers = map[string]realServer{
	"net/http": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		return httpServer(t, oryhttp.Middleware(g)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran.Add(1) })))
	},
	"gin": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		r := gin.New()
		r.Use(orygin.Middleware(g))
		r.Any("/*path", func(*gin.Context) { ran.Add(1) })
		return httpServer(t, r)
	},
	"echo": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		e := echov4.New()
		e.Use(oryecho.Middleware(g))
		e.Any("/*", func(echov4.Context) error { ran.Add(1); return nil })
		return httpServer(t, e)
	},
	"echov5": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		e := echov5.New()
		e.Use(oryechov5.Middleware(g))
		e.Any("/*", func(*echov5.Context) error { ran.Add(1); return nil })
		return httpServer(t, e)
	},
	"fiber": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		app := fiberv2.New(fiberv2.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
		app.Use(oryfiber.Middleware(g))
		app.All("/*", func(*fiberv2.Ctx) error { ran.Add(1); return nil })
		ln := loopback(t)
		go func() { _ = app.Listener(ln) }()
		t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
		return ln.Addr().String()
	},
	"fiberv3": func(t *testing.T, g *core.Guard, ran *atomic.Int64) string {
		app := fiberv3.New(fiberv3.Config{ReadBufferSize: 16 << 10})
		app.Use(oryfiberv3.Middleware(g))
		app.All("/*", func(fiberv3.Ctx) error { ran.Add(1); return nil })
		ln := loopback(t)
		go func() { _ = app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
		t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
		return ln.Addr().String()
	},
}

// raw sends request as written on a new connection and reads the answer.
func raw(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return nil // the server hung up on the request: refused
		}
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // the server hung up on the request: refused
		}
		t.Fatalf("read answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func rawGET(target string, headers ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: app.example\r\n" + strings.Join(append(headers, "Connection: close"), "\r\n") + "\r\n\r\n"
}

// TestHostileInputOnEveryServer: hostile request targets and spoofed host
// headers never produce a return_to off the app, and hostile credential
// headers never reach Ory; the protected handler never runs. A server may
// refuse a request it will not parse (4xx) or, for an absolute-form target
// (which fasthttp rewrites), answer 303 with a same-app return_to.
func TestHostileInputOnEveryServer(t *testing.T) {
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	g, err := core.New(core.Config{OryURL: ory.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	spoof := []string{"X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https", "Forwarded: host=evil.example", "X-Original-URL: //evil.example/x"}
	targets := []string{"/dash?x=1", "//evil.example/x", "///evil.example", "/%2F%2Fevil.example", "/%5C%5Cevil.example",
		"http://evil.example/dash?x=1", "http://user:pass@evil.example/dash", "/@evil.example", `/\evil.example`,
		"/x%0D%0ALocation:%20http://evil.example", "/ok?next=//evil.example", "/./evil.example", "/../evil.example"}
	const ck = "Cookie: ory_kratos_session="
	headers := [][]string{
		{ck + strings.Repeat("a", core.MaxCredentialLength+1)},
		{ck + "a\x00b"},
		{ck + "abc\xff\xfe"},
		{"Cookie: ory_session_a\x01b=value"},
		{"X-Session-Token: " + strings.Repeat("t", 8<<10)},
		{"X-Session-Token: a b"},
		{"Authorization: Bearer \xc3\x28"},
		{"Authorization: Basic Z29vZDpnb29k"},
		{"Cookie: big=" + strings.Repeat("a", 2<<20)},
	}
	for _, name := range []string{"net/http", "gin", "echo", "echov5", "fiber", "fiberv3"} {
		t.Run(strings.ReplaceAll(name, "/", ""), func(t *testing.T) {
			var ran atomic.Int64
			addr := realServers[name](t, g, &ran)
			for _, target := range targets {
				resp := raw(t, addr, rawGET(target, append([]string{"Accept: text/html"}, spoof...)...))
				if resp == nil {
					continue // refused by the server before any handler ran
				}
				if rt, _ := returnTo(resp, ory.URL); target == "/dash?x=1" && rt != target {
					t.Errorf("plain target %q: %d, return_to %q", target, resp.StatusCode, rt)
				}
				switch {
				case resp.StatusCode == http.StatusSeeOther:
					if rt, ok := returnTo(resp, ory.URL); !ok || !onApp(rt) {
						t.Errorf("target %q: Location %q (return_to %q)", target, resp.Header.Get("Location"), rt)
					}
				case resp.StatusCode >= 400 && resp.StatusCode < 500:
				case resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusPermanentRedirect || resp.StatusCode == http.StatusTemporaryRedirect:
					if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) {
						t.Errorf("target %q: redirected to %q", target, loc)
					}
				default:
					t.Errorf("target %q: status %d", target, resp.StatusCode)
				}
			}
			for _, h := range headers {
				resp := raw(t, addr, rawGET("/private", append([]string{"Accept: text/html"}, h...)...))
				if resp == nil {
					continue // refused by the server before any handler ran
				}
				if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
					t.Errorf("headers %.60q: status %d", h, resp.StatusCode)
				}
			}
			if ran.Load() != 0 || ory.Calls() != 0 {
				t.Fatalf("protected handler ran %d times, Ory was asked %d times", ran.Load(), ory.Calls())
			}
		})
	}
}

// returnTo reads return_to from a 303 to Ory's login flow.
func returnTo(resp *http.Response, oryURL string) (string, bool) {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != oryURL+"/self-service/login/browser" || len(resp.Header.Values("Location")) != 1 {
		return "", false
	}
	return loc.Query().Get("return_to"), true
}

// onApp reports whether a relative return_to can only lead to the app.
func onApp(rt string) bool {
	if strings.ContainsAny(rt, "\r\n\t\\\x00") || !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") {
		return false
	}
	u, err := url.Parse(rt)
	return err == nil && u.Host == "" && u.Scheme == "" && u.User == nil
}
