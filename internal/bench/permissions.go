package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// Paths of the permission benchmark app.
const (
	pathSessionOnly = "/session"
	pathPermitOff   = "/permit-uncached"
	pathPermitOn    = "/permit-cached"
)

// permitCacheTTL is the permission cache of the cached route.
const permitCacheTTL = time.Minute

// Permissions measures a guarded route with one permission check
// (core.Permit) against a running Kratos and Keto: the route guarded by the
// session alone, the same route with one check with the permission cache
// off (the default: Keto is asked on every request) and on, loaded
// interleaved. Every route has the session cache on, so the routes differ
// by the permission check alone; the rows are each permission route's
// throughput as a share of the session-only route's.
func Permissions(ctx context.Context, cfg Config, srv *kratos.Kratos, k *kratos.Keto) []Row {
	const sec = "3 kratos"
	figure := "guarded route with one permission check (real Keto), permission cache off / session-only route, req/s"
	bs, err := srv.RegisterBrowser(ctx, "bench-keto-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
	if err != nil {
		return []Row{failed(sec, figure, fmt.Errorf("sign up a browser: %w", err))}
	}
	const doc = "bench-report"
	if err := k.WriteTuples(ctx, kratos.Tuple{Namespace: "documents", Object: doc, Relation: "viewer", SubjectID: bs.IdentityID}); err != nil {
		return []Row{failed(sec, figure, err)}
	}
	newGuard := func(permitTTL time.Duration) (*core.Guard, error) {
		return core.New(core.Config{
			OryURL: srv.PublicURL(), Logger: quiet,
			Cache:       core.CacheConfig{TTL: time.Minute},
			Permissions: core.PermissionsConfig{URL: k.ReadURL(), CacheTTL: permitTTL},
		})
	}
	uncached, err := newGuard(0)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	cached, err := newGuard(permitCacheTTL)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	permit := core.Permit("documents", "viewer", func(*core.Request) string { return doc })
	served := newCounters(pathSessionOnly, pathPermitOff, pathPermitOn)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathSessionOnly, oryhttp.Middleware(uncached)(netHTTPHandler(served[pathSessionOnly])))
	mux.Handle("GET "+pathPermitOff, oryhttp.Middleware(uncached, permit)(netHTTPHandler(served[pathPermitOff])))
	mux.Handle("GET "+pathPermitOn, oryhttp.Middleware(cached, permit)(netHTTPHandler(served[pathPermitOn])))
	a, err := serveHTTP(mux, served)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	defer func() { _ = a.Close() }()

	header := browserHeader(browserCookies(kratos.SessionCookieName, bs.Cookie.Value))
	paths := []string{pathSessionOnly, pathPermitOff, pathPermitOn}
	var targets []target
	for _, p := range paths {
		status, err := get(ctx, noRedirects, a.URL+p, header)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("%s answered %d for a user with a viewer tuple", p, status)
		}
		if err != nil {
			return []Row{failed(sec, figure, err)}
		}
		targets = append(targets, a.target(p))
	}
	cfg.logf("keto: %d rounds of %v on %v (%s)", cfg.LoadRounds, cfg.KratosLoadTime, paths, cfg.Load.Name())
	res, err := compareLoad(ctx, cfg.Load, targets, header, cfg.LoadRounds, cfg.KratosLoadTime, cfg.Warmup)
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	session, off, on := median(res.rps[0]), median(res.rps[1]), median(res.rps[2])
	return []Row{
		{sec, figure,
			fmt.Sprintf("%.2fx (medians %s vs %s req/s; rounds %s)", pairRatio(res.rps[1], res.rps[0]), rps(off), rps(session), spread(res.rps[1], rps)),
			"", Info},
		{sec, fmt.Sprintf("guarded route with one permission check (real Keto), permission cache on (%v) / session-only route, req/s", permitCacheTTL),
			fmt.Sprintf("%.2fx (medians %s vs %s req/s; rounds %s)", pairRatio(res.rps[2], res.rps[0]), rps(on), rps(session), spread(res.rps[2], rps)),
			"", Info},
	}
}
