package bench

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
	fiber2 "github.com/gofiber/fiber/v2"
	fiber3 "github.com/gofiber/fiber/v3"
	echo4 "github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryechov5 "github.com/oryguard/oryguard/adapters/echov5"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	oryfiberv3 "github.com/oryguard/oryguard/adapters/fiberv3"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/valyala/fasthttp"
)

// The in-process hit path: core's Authenticate on a real-size Kratos
// cookie, and one guarded request through each adapter's middleware next to
// the same route without the guard, with no network. BenchmarkHit runs
// these cases (go test -bench, compared across revisions by benchstat, as
// bench -baseline does), and InProcess turns them into the table's rows.

// hitKratosCookie has the length of the session cookie a real Kratos v1.3.1
// sets (428 bytes: base64 of securecookie's timestamp, encoded session
// token and MAC).
var hitKratosCookie = base64.URLEncoding.EncodeToString([]byte(strings.Repeat("oryguard-kratos-session-cookie-", 11)[:320]))

// hitCookie is the Cookie header of a browser that carries the session
// cookie among four of the app's own cookies.
var hitCookie = strings.Join([]string{
	"_ga=GA1.1.1439027315.1764246571",
	"theme=dark",
	"ory_kratos_session=" + hitKratosCookie,
	"csrf_token_806060ca5bf70dff3caa0e5c860002aade9d470a5a4dce73bcfa7ba10778f481=Y2hhbmdlbWVjaGFuZ2VtZWNoYW5nZW1lMTIzNA==",
	"app_prefs=eyJsYW5nIjoiZW4iLCJ0eiI6IkV1cm9wZS9CZXJsaW4ifQ",
}, "; ")

const hitAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// HitCase is one in-process benchmark: F runs b.N guarded (or, for the
// "-open" variants, unguarded) requests on a warm cache.
type HitCase struct {
	Name string
	F    func(b *testing.B) error
}

// hitFrameworks are the adapters of the in-process rows, by case name.
var hitFrameworks = []string{"nethttp", "gin", "echo", "echov5", "fiber", "fiberv3"}

// HitCases lists the in-process benchmarks: "core", then per adapter a
// guarded route and the same route without the guard ("<name>-open"), then
// the same for each RPC interceptor's unary method (hitrpc.go); the guard's
// cost is the difference.
func HitCases() []HitCase {
	cs := []HitCase{{"core", hitCore}}
	for _, fw := range hitFrameworks {
		cs = append(cs, HitCase{fw, hitAdapter(fw, true)}, HitCase{fw + "-open", hitAdapter(fw, false)})
	}
	for _, rpc := range hitRPCs {
		cs = append(cs, HitCase{rpc, hitRPC(rpc, true)}, HitCase{rpc + "-open", hitRPC(rpc, false)})
	}
	return cs
}

// hitGuard returns a guard with the cache on whose fake Ory knows the
// cookie.
func hitGuard(b *testing.B) (*core.Guard, error) {
	ory := orytest.NewServer()
	b.Cleanup(ory.Close)
	ory.Session(hitKratosCookie, orytest.ActiveSession("s1", "a@example.com"))
	return core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}})
}

func hitCore(b *testing.B) error {
	g, err := hitGuard(b)
	if err != nil {
		return err
	}
	rt := g.Route()
	req := &core.Request{Method: http.MethodGet, URI: "/dashboard", Accept: hitAccept, Cookies: []string{hitCookie}}
	ctx := context.Background()
	if d := rt.Authenticate(ctx, req); !d.Allow {
		return fmt.Errorf("core: denied with %d", d.Status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	denied := 0
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			denied++
		}
	}
	if denied > 0 {
		return fmt.Errorf("core: %d requests denied", denied)
	}
	return nil
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
// denied. The benchmarks run one at a time.
var served bool

func hitAdapter(fw string, guarded bool) func(b *testing.B) error {
	return func(b *testing.B) error {
		g, err := hitGuard(b)
		if err != nil {
			return err
		}
		path := "/open"
		if guarded {
			path = "/protected"
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
			e := echo4.New()
			next := func(c echo4.Context) error { _, served = oryecho.Session(c); served = true; return nil }
			e.GET("/open", next)
			e.GET("/protected", next, oryecho.Middleware(g))
			h = e
		case "echov5":
			e := echo5.New()
			next := func(c *echo5.Context) error { _, served = oryechov5.Session(c); served = true; return nil }
			e.GET("/open", next)
			e.GET("/protected", next, oryechov5.Middleware(g))
			h = e
		case "fiber":
			app := fiber2.New(fiber2.Config{DisableStartupMessage: true})
			next := func(c *fiber2.Ctx) error { _, served = oryfiber.Session(c); served = true; return nil }
			app.Get("/open", next)
			app.Get("/protected", oryfiber.Middleware(g), next)
			return benchServeFastHTTP(b, fw, app.Handler(), path)
		case "fiberv3":
			app := fiber3.New()
			next := func(c fiber3.Ctx) error { _, served = oryfiberv3.Session(c); served = true; return nil }
			app.Get("/open", next)
			app.Get("/protected", oryfiberv3.Middleware(g), next)
			return benchServeFastHTTP(b, fw, app.Handler(), path)
		default:
			return fmt.Errorf("unknown framework %q", fw)
		}
		return benchServeHTTP(b, fw, h, path)
	}
}

// benchServeHTTP benchmarks h on GET path with the browser's headers, on a warm
// cache: the first request asks Ory, the timed ones are cache hits.
func benchServeHTTP(b *testing.B, name string, h http.Handler, path string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://app.example"+path, nil)
	if err != nil {
		return err
	}
	req.RequestURI = path
	req.Header = http.Header{"Cookie": {hitCookie}, "Accept": {hitAccept}}
	w := &discard{h: http.Header{}}
	run := func() bool {
		served = false
		clear(w.h)
		h.ServeHTTP(w, req)
		return served
	}
	return loopHit(b, name+" "+path, run, func() int { return w.status })
}

// benchServeFastHTTP is benchServeHTTP for a fasthttp handler, on a request parsed
// from the wire as the server does: fasthttp then hands out the raw Cookie
// header (setting it through the API would have it parse and rebuild the
// cookies on every read).
func benchServeFastHTTP(b *testing.B, name string, h fasthttp.RequestHandler, path string) error {
	var fc fasthttp.RequestCtx
	raw := "GET " + path + " HTTP/1.1\r\nHost: app.example\r\nCookie: " + hitCookie + "\r\nAccept: " + hitAccept + "\r\n\r\n"
	if err := fc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		return err
	}
	run := func() bool {
		served = false
		fc.Response.Reset()
		h(&fc)
		return served
	}
	return loopHit(b, name+" "+path, run, fc.Response.StatusCode)
}

// loopHit runs one request to fill the cache, then times b.Loop's; a
// request the handler did not see fails the benchmark.
func loopHit(b *testing.B, what string, run func() bool, status func() int) error {
	if !run() {
		return fmt.Errorf("%s: denied with %d", what, status())
	}
	b.ReportAllocs()
	b.ResetTimer()
	denied := 0
	for b.Loop() {
		if !run() {
			denied++
		}
	}
	if denied > 0 {
		return fmt.Errorf("%s: %d requests denied (last with %d)", what, denied, status())
	}
	return nil
}
