package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	client "github.com/ory/client-go"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// naiveMinRatio is how many times the naive middleware's throughput the
// guard with its cache must reach against the same Kratos.
const naiveMinRatio = 50

type naiveSessionKey struct{}

// naiveMiddleware is the session middleware as Ory's Go guide writes it:
// a client-go client with default settings, and on every request one
// ToSession call that forwards the request's whole Cookie header; no
// session sends the browser to the login flow.
func naiveMiddleware(oryURL string) func(http.Handler) http.Handler {
	c := client.NewConfiguration()
	c.Servers = client.ServerConfigurations{{URL: oryURL}}
	ory := client.NewAPIClient(c)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			session, _, err := ory.FrontendAPI.ToSession(r.Context()).Cookie(r.Header.Get("Cookie")).Execute()
			if (err != nil && session == nil) || (err == nil && !session.GetActive()) {
				http.Redirect(w, r, oryURL+"/self-service/login/browser", http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), naiveSessionKey{}, session)))
		})
	}
}

// Paths of the Kratos benchmark app.
const (
	pathCached   = "/cached"
	pathUncached = "/uncached"
	pathNaive    = "/naive"
)

// Kratos runs sections 3 and 4 against a running Kratos: it signs up a
// browser, then loads a net/http route guarded with the cache on, with the
// cache off and with the naive middleware (interleaved), compares the
// uncached path with a bare ToSession call, and sends a burst of cold
// requests through a counting proxy.
func Kratos(ctx context.Context, cfg Config, srv *kratos.Kratos) []Row {
	const sec = "3 kratos"
	bs, err := srv.RegisterBrowser(ctx, "bench-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
	if err != nil {
		return []Row{failed(sec, "sign up a browser", err)}
	}
	cookie := browserCookies(kratos.SessionCookieName, bs.Cookie.Value)
	rows := []Row{realCookieHit(cfg, bs.Cookie)}
	rows = append(rows, kratosLoad(ctx, cfg, srv.PublicURL(), cookie, len(bs.Cookie.Value))...)
	if ctx.Err() != nil {
		return rows
	}
	rows = append(rows, kratosMiss(ctx, cfg, srv.PublicURL(), bs.Cookie))
	if ctx.Err() != nil {
		return rows
	}
	return append(rows, kratosCollapse(ctx, cfg, srv.PublicURL(), cookie))
}

// realCookieHit measures the core hit path with the session cookie value
// that Kratos really set (longer than the securecookie sample of section
// 1), on the fake Ory: the hit path never asks Ory.
func realCookieHit(cfg Config, c *http.Cookie) Row {
	const sec = "1 core"
	figure := fmt.Sprintf("hit path, cookie as set by the real Kratos (%d bytes) among 4 app cookies: time", len(c.Value))
	req := &core.Request{Method: http.MethodGet, URI: "/dashboard", Accept: "text/html",
		Cookies: []string{browserCookies(c.Name, c.Value)}}
	cfg.logf("core hit path with the real Kratos cookie: %d rounds of %v", cfg.MicroRounds, cfg.BenchTime)
	nsOps, allocs, err := interleave(cfg.MicroRounds, hitBench(req, c.Value))
	if err != nil {
		return failed(sec, figure, err)
	}
	n := median(nsOps[0])
	return Row{sec, figure, fmt.Sprintf("%s/op, %.0f allocs/op (rounds %s)", ns(n), median(allocs[0]), spread(nsOps[0], ns)),
		fmt.Sprintf("<= %d ns", hitMaxNs), check(n <= hitMaxNs)}
}

func kratosLoad(ctx context.Context, cfg Config, oryURL, cookie string, cookieLen int) []Row {
	const sec = "3 kratos"
	figure := "guarded route, cache on / naive middleware (Ory's Go guide), req/s"
	newGuard := func(cache core.CacheConfig) (*core.Guard, error) {
		return core.New(core.Config{OryURL: oryURL, Logger: quiet, Cache: cache})
	}
	cached, err := newGuard(core.CacheConfig{TTL: time.Minute})
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	uncached, err := newGuard(core.CacheConfig{})
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	served := newCounters(pathCached, pathUncached, pathNaive)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathCached, oryhttp.Middleware(cached)(netHTTPHandler(served[pathCached])))
	mux.Handle("GET "+pathUncached, oryhttp.Middleware(uncached)(netHTTPHandler(served[pathUncached])))
	mux.Handle("GET "+pathNaive, naiveMiddleware(oryURL)(netHTTPHandler(served[pathNaive])))
	a, err := serveHTTP(mux, served)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	defer func() { _ = a.Close() }()
	header := browserHeader(cookie)
	paths := []string{pathCached, pathUncached, pathNaive}
	var targets []target
	for _, p := range paths {
		status, err := get(ctx, noRedirects, a.URL+p, header)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("%s answered %d with the session cookie", p, status)
		}
		if err != nil {
			return []Row{failed(sec, figure, err)}
		}
		targets = append(targets, a.target(p))
	}
	cfg.logf("kratos: %d rounds of %v on %v (%s)", cfg.LoadRounds, cfg.KratosLoadTime, paths, cfg.Load.Name())
	res, err := compareLoad(ctx, cfg.Load, targets, header, cfg.LoadRounds, cfg.KratosLoadTime, cfg.Warmup)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	on, off, naive := median(res.rps[0]), median(res.rps[1]), median(res.rps[2])
	detail := func(i int) string { return spread(res.rps[i], rps) }
	onNaive := pairRatio(res.rps[0], res.rps[2])
	return []Row{
		{sec, figure + fmt.Sprintf(" (real browser session, %d-byte cookie, 4 app cookies)", cookieLen),
			fmt.Sprintf("%.1fx (medians %s vs %s req/s; rounds %s vs %s)", onNaive, rps(on), rps(naive), detail(0), detail(2)),
			fmt.Sprintf(">= %dx", naiveMinRatio), check(onNaive >= naiveMinRatio)},
		{sec, "guarded route, cache on / cache off, req/s",
			fmt.Sprintf("%.1fx (medians %s vs %s req/s; cache off rounds %s)", pairRatio(res.rps[0], res.rps[1]), rps(on), rps(off), detail(1)), "", Info},
		{sec, "guarded route, cache off / naive middleware, req/s",
			fmt.Sprintf("%.2fx (medians %s vs %s req/s)", pairRatio(res.rps[1], res.rps[2]), rps(off), rps(naive)), "", Info},
	}
}

// kratosMiss compares the uncached path through the guard with a bare
// client-go ToSession call carrying the session cookie, one call at a time
// against the real Kratos.
func kratosMiss(ctx context.Context, cfg Config, oryURL string, sessionCookie *http.Cookie) Row {
	const sec = "3 kratos"
	figure := "uncached path (guard, cache off) / bare client-go ToSession, real Kratos, one at a time"
	req := &core.Request{Method: http.MethodGet, URI: "/", Accept: "text/html",
		Cookies: []string{browserCookies(kratos.SessionCookieName, sessionCookie.Value)}}
	miss := func(b *testing.B) error {
		g, err := core.New(core.Config{OryURL: oryURL, Logger: quiet})
		if err != nil {
			return err
		}
		rt := g.Route()
		denied := 0
		for b.Loop() {
			if d := rt.Authenticate(ctx, req); !d.Allow {
				denied++
			}
		}
		if denied > 0 {
			return fmt.Errorf("uncached path: %d of the requests were denied", denied)
		}
		return nil
	}
	bare := func(b *testing.B) error {
		api := bareClient(oryURL)
		cookie := sessionCookie.Name + "=" + sessionCookie.Value
		return bareLoop(b, func() (*client.Session, *http.Response, error) {
			return api.FrontendAPI.ToSession(ctx).Cookie(cookie).Execute()
		})
	}
	cfg.logf("kratos: uncached path vs bare ToSession, %d rounds of %v", cfg.MicroRounds, cfg.BenchTime)
	nsOps, _, err := interleave(cfg.MicroRounds, miss, bare)
	if err != nil {
		return failed(sec, figure, err)
	}
	ratio := pairRatio(nsOps[0], nsOps[1])
	return Row{sec, figure, fmt.Sprintf("%.3f (medians %s vs %s per call)", ratio, us(median(nsOps[0])), us(median(nsOps[1]))),
		fmt.Sprintf("<= %.1f", missMaxRatio), check(ratio <= missMaxRatio)}
}

// kratosCollapse sends a burst of cold requests with one real session
// cookie through the guard (cache on, as deployed) and counts the whoami
// calls that reach Kratos through a counting proxy.
func kratosCollapse(ctx context.Context, cfg Config, oryURL, cookie string) Row {
	const sec = "4 collapsing"
	figure := fmt.Sprintf("%d concurrent cold requests, one cookie, real Kratos, cache on: whoami calls at a counting proxy", cfg.Collapse)
	proxy, err := startCountingProxy(oryURL)
	if err != nil {
		return failed(sec, figure, err)
	}
	defer func() { _ = proxy.Close() }()
	g, err := core.New(core.Config{OryURL: proxy.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Minute}})
	if err != nil {
		return failed(sec, figure, err)
	}
	a, err := guardedApp(g)
	if err != nil {
		return failed(sec, figure, err)
	}
	defer func() { _ = a.Close() }()
	cfg.logf("kratos: %d concurrent cold requests through a counting proxy", cfg.Collapse)
	allowed, err := burst(ctx, a, browserHeader(cookie), cfg.Collapse)
	if err != nil {
		return failed(sec, figure, err)
	}
	calls := proxy.whoami.Load()
	return Row{sec, figure, fmt.Sprintf("%d (%d of %d requests allowed)", calls, allowed, cfg.Collapse), "exactly 1",
		check(calls == 1 && allowed == cfg.Collapse)}
}
