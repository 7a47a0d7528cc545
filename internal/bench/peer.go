package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// sectionUsers is the section of the rows that measure what users feel:
// the peer (Ory Oathkeeper) and an active user across TTL boundaries.
const sectionUsers = "7 users"

// Paths of the peer app.
const (
	pathNoop       = "/noop"
	pathOathkeeper = "/behind-oathkeeper"
)

// noopMiddleware is the control of the load rows: a middleware that does
// nothing but call the next handler, so that its row shows what the
// framework charges for a middleware at all.
func noopMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, r) })
}

// requireUser lets a request reach next only when Oathkeeper's header
// mutator put the identity in: a request that did not pass through
// Oathkeeper's pipeline gets 403, which the load rows count as an error.
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(oathkeeperUserHeader) == "" {
			http.Error(w, "no "+oathkeeperUserHeader, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Peer runs the peer rows: one net/http server serves the same handler
// behind the guard (cache on), bare, and behind a no-op middleware, and Ory
// Oathkeeper (bin; cookie_session against the same Kratos, the allow
// authorizer and the header mutator) proxies a fourth route to it. One
// browser session signed up through Kratos loads the four, interleaved.
func Peer(ctx context.Context, cfg Config, srv *kratos.Kratos, bin string) []Row {
	const figure = "peer: the same route behind the guard and behind Ory Oathkeeper"
	bs, err := srv.RegisterBrowser(ctx, "bench-peer-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
	if err != nil {
		return []Row{failed(sectionUsers, figure+": sign up a browser", err)}
	}
	g, err := core.New(core.Config{OryURL: srv.PublicURL(), Logger: quiet, Cache: core.CacheConfig{TTL: time.Minute}})
	if err != nil {
		return []Row{failed(sectionUsers, figure, err)}
	}
	defer func() { _ = g.Close() }()
	served := newCounters(pathProtected, pathOpen, pathNoop, pathOathkeeper)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathProtected, oryhttp.Middleware(g)(netHTTPHandler(served[pathProtected])))
	mux.Handle("GET "+pathOpen, netHTTPHandler(served[pathOpen]))
	mux.Handle("GET "+pathNoop, noopMiddleware(netHTTPHandler(served[pathNoop])))
	mux.Handle("GET "+pathOathkeeper, requireUser(netHTTPHandler(served[pathOathkeeper])))
	a, err := serveHTTP(mux, served)
	if err != nil {
		return []Row{failed(sectionUsers, figure, err)}
	}
	defer func() { _ = a.Close() }()

	cfg.logf("peer: starting Ory Oathkeeper (%s)", bin)
	ok, err := startOathkeeper(ctx, bin, srv.PublicURL(), pathOathkeeper, a.URL)
	if err != nil {
		return []Row{failed(sectionUsers, figure+": start Oathkeeper", err)}
	}
	defer ok.Close()

	header := browserHeader(browserCookies(kratos.SessionCookieName, bs.Cookie.Value))
	routes := []struct {
		name string
		t    target
	}{
		{"guard", a.target(pathProtected)},
		{"Oathkeeper " + ok.version, target{url: ok.proxyURL + pathOathkeeper, served: served[pathOathkeeper]}},
		{"unguarded", a.target(pathOpen)},
		{"no-op middleware", a.target(pathNoop)},
	}
	targets := make([]target, len(routes))
	for i, r := range routes {
		status, err := get(ctx, noRedirects, r.t.url, header)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("%s answered %d with the session cookie", r.t.url, status)
		}
		if err != nil {
			return []Row{failed(sectionUsers, figure, err)}
		}
		targets[i] = r.t
	}
	status, err := get(ctx, noRedirects, ok.proxyURL+pathOathkeeper, http.Header{"Accept": {"text/html"}})
	if err == nil && status == http.StatusOK {
		err = errors.New("oathkeeper let a request without a session through")
	}
	if err != nil {
		return []Row{failed(sectionUsers, figure, err)}
	}
	cfg.logf("peer: %d rounds of %v on the guard, Oathkeeper, the unguarded and the no-op route (%s)", cfg.LoadRounds, cfg.KratosLoadTime, cfg.Load.Name())
	res, err := compareLoad(ctx, cfg.Load, targets, header, cfg.LoadRounds, cfg.KratosLoadTime, cfg.Warmup)
	if err != nil {
		return []Row{failed(sectionUsers, figure, err)}
	}
	return peerRows(ok.version, cfg.Load.Name(), res)
}

// peerRows turns the four routes' rounds (guard, Oathkeeper, unguarded,
// no-op middleware) into the peer rows.
func peerRows(version, load string, res loadRounds) []Row {
	const guard, oath, open, noop = 0, 1, 2, 3
	lat := func(i int) string {
		return fmt.Sprintf("p50 %s, p99 %s", ms(median(res.p50[i])), ms(median(res.p99[i])))
	}
	route := func(i int) string {
		return fmt.Sprintf("%s req/s (rounds %s), %s", rps(median(res.rps[i])), spread(res.rps[i], rps), lat(i))
	}
	peer := "Ory Oathkeeper " + version + " (cookie_session asking the real Kratos, allow, header mutator)"
	rows := []Row{
		{sectionUsers, "peer: guarded route (cache on) / the same route behind " + peer + ", req/s, one browser session, " + load,
			fmt.Sprintf("%.1fx (medians %s vs %s req/s)", pairRatio(res.rps[guard], res.rps[oath]), rps(median(res.rps[guard])), rps(median(res.rps[oath]))),
			"", Info},
		{sectionUsers, "peer: latency under the same load, Oathkeeper / guard (median of each round's p50 and p99)",
			fmt.Sprintf("p50 %.0fx, p99 %.0fx (guard %s; Oathkeeper %s)",
				pairRatio(res.p50[oath], res.p50[guard]), pairRatio(res.p99[oath], res.p99[guard]), lat(guard), lat(oath)),
			"", Info},
		{sectionUsers, "peer: guarded / unguarded and no-op middleware / unguarded (the framework's own share), req/s",
			fmt.Sprintf("%.3f and %.3f", pairRatio(res.rps[guard], res.rps[open]), pairRatio(res.rps[noop], res.rps[open])),
			"", Info},
	}
	for i, name := range []string{"guard (cache on)", "Oathkeeper", "unguarded", "no-op middleware"} {
		rows = append(rows, Row{sectionUsers, "peer: " + name + " route, same handler on one net/http server: req/s, latency", route(i), "", Info})
	}
	return rows
}
