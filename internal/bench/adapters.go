package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	client "github.com/ory/client-go"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/mount"
)

// adapterMinRatio was the least share of the unguarded route's throughput
// that the guarded route had to keep. The 2-core loopback bench cannot
// resolve it (BENCHMARKS.md), so the rows report the ratio next to the
// framework's no-op middleware, and section 7 measures what users feel.
const adapterMinRatio = 0.93

// Paths every benchmark app serves: the same handler with and without the
// guard in front of it.
const (
	pathOpen      = "/open"
	pathProtected = "/protected"
)

// Adapters lists the adapters in the order they are measured.
var Adapters = []string{"net/http", "gin", "echo", "echov5", "fiber", "fiberv3"}

// body is what every benchmark handler answers.
var body = []byte("ok\n")

// app is a benchmark server on 127.0.0.1.
type app struct {
	URL  string
	stop func() error
	// served counts the handler's runs per path.
	served map[string]*atomic.Int64
}

func (a *app) Close() error { return a.stop() }

// target is the load target for path.
func (a *app) target(path string) target {
	return target{url: a.URL + path, served: a.served[path]}
}

func newCounters(paths ...string) map[string]*atomic.Int64 {
	m := make(map[string]*atomic.Int64, len(paths))
	for _, p := range paths {
		m[p] = new(atomic.Int64)
	}
	return m
}

func listen() (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}

// serveHTTP serves h on a new loopback listener.
func serveHTTP(h http.Handler, served map[string]*atomic.Int64) (*app, error) {
	ln, err := listen()
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &app{URL: "http://" + ln.Addr().String(), served: served, stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}}, nil
}

// netHTTPHandler is the benchmark handler for net/http: it reads the
// session the way an app would and answers a few bytes.
func netHTTPHandler(served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = oryhttp.Session(r.Context())
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})
}

// startApp serves pathOpen (the handler alone) and pathProtected (the same
// handler behind the adapter's middleware) with the given framework, through
// the end-to-end suite's one table of adapter mounts. The handler reads the
// session through the adapter's accessor on both routes, so the two differ
// by the middleware alone.
func startApp(framework string, g *core.Guard) (*app, error) {
	a, err := mount.Lookup(framework)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	served := newCounters(pathOpen, pathProtected)
	reply := func(n *atomic.Int64) func(*client.Session) []byte {
		return func(*client.Session) []byte {
			n.Add(1)
			return body
		}
	}
	srv, err := a.Serve(
		mount.Route{Path: pathOpen, Reply: reply(served[pathOpen])},
		mount.Route{Path: pathProtected, Guard: g, Reply: reply(served[pathProtected])},
	)
	if err != nil {
		return nil, fmt.Errorf("bench: serve %s: %w", framework, err)
	}
	return &app{URL: srv.URL, served: served, stop: srv.Close}, nil
}

// get sends one request and returns its status.
func get(ctx context.Context, hc *http.Client, url string, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header = header.Clone()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// AdapterThroughput runs section 2 for one framework: the guarded route
// (cache on, warm) next to the same route without the guard, and the same
// handler behind the framework's no-op middleware as the control. The
// ratio is reported, not judged (adapterMinRatio).
func AdapterThroughput(ctx context.Context, cfg Config, framework string) Row {
	const sec = "2 adapters"
	figure := framework + ": guarded route (cache on) / same route without the guard, req/s"
	ratio, detail, err := adapterThroughput(ctx, cfg, framework)
	if err != nil {
		return failed(sec, figure, err)
	}
	return Row{sec, figure, fmt.Sprintf("%.3f (%s)", ratio, detail), fmt.Sprintf("reported (was >= %.2f)", adapterMinRatio), Info}
}

func adapterThroughput(ctx context.Context, cfg Config, framework string) (float64, string, error) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(kratosCookieValue, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		return 0, "", err
	}
	a, err := startApp(framework, g)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = a.Close() }()
	noop, err := startNoopApp(framework)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = noop.Close() }()
	header := browserHeader(browserCookies("ory_kratos_session", kratosCookieValue))
	targets := []target{a.target(pathProtected), a.target(pathOpen), noop.target(pathNoop)}
	for _, t := range targets {
		status, err := get(ctx, noRedirects, t.url, header)
		if err != nil {
			return 0, "", err
		}
		if status != http.StatusOK {
			return 0, "", fmt.Errorf("%s %s answered %d", framework, t.url, status)
		}
	}
	cfg.logf("%s: %d rounds of %v on %s, %s and %s (%s)", framework, cfg.LoadRounds, cfg.LoadTime, pathProtected, pathOpen, pathNoop, cfg.Load.Name())
	res, err := compareLoad(ctx, cfg.Load, targets, header, cfg.LoadRounds, cfg.LoadTime, cfg.Warmup)
	if err != nil {
		return 0, "", err
	}
	if n := ory.Calls(); n != 1 {
		return 0, "", fmt.Errorf("%s: %d whoami calls under load, want 1 (the cache should answer)", framework, n)
	}
	guarded, open := median(res.rps[0]), median(res.rps[1])
	if open == 0 {
		return 0, "", errors.New("no throughput without the guard")
	}
	detail := fmt.Sprintf("medians %s vs %s req/s; rounds %s vs %s; control: no-op middleware / without %.3f (%s req/s)",
		rps(guarded), rps(open), spread(res.rps[0], rps), spread(res.rps[1], rps), pairRatio(res.rps[2], res.rps[1]), rps(median(res.rps[2])))
	if _, external := cfg.Load.(*WrkLoader); external {
		// The server's CPU time per answer does not depend on how much CPU
		// other work left it, so it cross-checks the throughput ratio.
		detail += fmt.Sprintf("; server CPU per request %s vs %s: ratio %.3f",
			us(median(res.cpuReq[0])), us(median(res.cpuReq[1])), pairRatio(res.cpuReq[1], res.cpuReq[0]))
	}
	return pairRatio(res.rps[0], res.rps[1]), detail, nil
}
