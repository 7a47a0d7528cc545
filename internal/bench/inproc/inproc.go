// Package inproc holds the in-process benchmarks of the cache-hit path:
// core's Authenticate and one guarded request through each adapter's
// middleware, with no network. The bench program runs them (section 1),
// and, given -baseline, runs the same file built against an older commit
// side by side to measure before/after ratios. The file therefore uses only
// API that has been stable since the first release of the adapters.
package inproc

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/valyala/fasthttp"
)

// KratosCookie has the length of the session cookie a real Kratos v1.3.1
// sets (428 bytes: base64 of securecookie's timestamp, encoded session
// token and MAC).
var KratosCookie = base64.URLEncoding.EncodeToString([]byte(strings.Repeat("oryguard-kratos-session-cookie-", 11)[:320]))

// Cookie is the Cookie header of a browser that carries the session cookie
// among four of the app's own cookies.
var Cookie = strings.Join([]string{
	"_ga=GA1.1.1439027315.1764246571",
	"theme=dark",
	"ory_kratos_session=" + KratosCookie,
	"csrf_token_806060ca5bf70dff3caa0e5c860002aade9d470a5a4dce73bcfa7ba10778f481=Y2hhbmdlbWVjaGFuZ2VtZWNoYW5nZW1lMTIzNA==",
	"app_prefs=eyJsYW5nIjoiZW4iLCJ0eiI6IkV1cm9wZS9CZXJsaW4ifQ",
}, "; ")

const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// Case is one benchmark: F runs b.N guarded (or, for the open variants,
// unguarded) requests on a warm cache.
type Case struct {
	Name string
	F    func(b *testing.B)
}

// Cases lists the benchmarks. Each adapter has a guarded route and the same
// route without the guard ("/open"); the guard's cost is the difference.
func Cases() []Case {
	cs := []Case{{"core", benchCore}}
	for _, fw := range []string{"nethttp", "gin", "echo", "fiber"} {
		cs = append(cs, Case{fw, adapterBench(fw, true)}, Case{fw + "-open", adapterBench(fw, false)})
	}
	return cs
}

// Guard returns a guard with the cache on whose fake Ory knows the cookie.
func Guard(b *testing.B) *core.Guard {
	ory := orytest.NewServer()
	b.Cleanup(ory.Close)
	ory.Session(KratosCookie, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func benchCore(b *testing.B) {
	rt := Guard(b).Route()
	req := &core.Request{Method: http.MethodGet, URI: "/dashboard", Accept: accept, Cookies: []string{Cookie}}
	ctx := context.Background()
	if d := rt.Authenticate(ctx, req); !d.Allow {
		b.Fatalf("denied: %d", d.Status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			b.Fatal("denied")
		}
	}
}

// discard is a ResponseWriter that keeps nothing but its header map, so
// the benchmark measures the middleware rather than a recorder.
type discard struct {
	h      http.Header
	status int
}

func (w *discard) Header() http.Header         { return w.h }
func (w *discard) Write(p []byte) (int, error) { return len(p), nil }
func (w *discard) WriteHeader(s int)           { w.status = s }

// served is set by every handler; a request that did not reach it was
// denied.
var served bool

// MarkServed records that a benchmark handler ran (the request was not
// denied); handlers of other packages call it.
func MarkServed() { served = true }

func adapterBench(fw string, guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		g := Guard(b)
		path := "/open"
		if guarded {
			path = "/protected"
		}
		if fw == "fiber" {
			benchFiber(b, g, path)
			return
		}
		var h http.Handler
		switch fw {
		case "nethttp":
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, served = oryhttp.Session(r.Context())
				served = true
			})
			mux := http.NewServeMux()
			mux.Handle("/open", next)
			mux.Handle("/protected", oryhttp.Middleware(g)(next))
			h = mux
		case "gin":
			gin.SetMode(gin.ReleaseMode)
			e := gin.New()
			next := func(c *gin.Context) { _, served = orygin.Session(c); served = true }
			e.GET("/open", next)
			e.GET("/protected", orygin.Middleware(g), next)
			h = e
		case "echo":
			e := echo.New()
			next := func(c echo.Context) error { _, served = oryecho.Session(c); served = true; return nil }
			e.GET("/open", next)
			e.GET("/protected", next, oryecho.Middleware(g))
			h = e
		default:
			b.Fatalf("unknown framework %q", fw)
		}
		ServeHTTP(b, fw, h, path)
	}
}

// ServeHTTP benchmarks h on GET path with the browser's headers, on a warm
// cache: the first request asks Ory, the timed ones are cache hits.
func ServeHTTP(b *testing.B, name string, h http.Handler, path string) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://app.example"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.RequestURI = path
	req.Header = http.Header{"Cookie": {Cookie}, "Accept": {accept}}
	w := &discard{h: http.Header{}}
	run := func() {
		served = false
		clear(w.h)
		h.ServeHTTP(w, req)
		if !served {
			b.Fatalf("%s %s: denied with %d", name, path, w.status)
		}
	}
	run() // the first request asks Ory and fills the cache
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

func benchFiber(b *testing.B, g *core.Guard, path string) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	next := func(c *fiber.Ctx) error { _, served = oryfiber.Session(c); served = true; return nil }
	app.Get("/open", next)
	app.Get("/protected", oryfiber.Middleware(g), next)
	ServeFastHTTP(b, "fiber", app.Handler(), path)
}

// ServeFastHTTP is ServeHTTP for a fasthttp handler, on a request parsed
// from the wire as the server does: fasthttp then hands out the raw Cookie
// header (setting it through the API would have it parse and rebuild the
// cookies on every read).
func ServeFastHTTP(b *testing.B, name string, h fasthttp.RequestHandler, path string) {
	var fc fasthttp.RequestCtx
	raw := "GET " + path + " HTTP/1.1\r\nHost: app.example\r\nCookie: " + Cookie + "\r\nAccept: " + accept + "\r\n\r\n"
	if err := fc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		b.Fatal(err)
	}
	run := func() {
		served = false
		fc.Response.Reset()
		h(&fc)
		if !served {
			panic(fmt.Sprintf("%s %s: denied with %d", name, path, fc.Response.StatusCode()))
		}
	}
	run()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}
