package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// The active user of section 7: one browser that clicks every userClick
// through a guard whose cache keeps an answer userTTL, while a fault proxy
// holds every whoami answer of the real Kratos back userDelay, as an Ory
// project tens of milliseconds away would. A request that took longer
// than userWaited waited for a whoami round trip.
const (
	userTTL    = time.Second
	userDelay  = 50 * time.Millisecond
	userClick  = 40 * time.Millisecond
	userWaited = userDelay / 2
)

// refreshAfter is the share of an entry's lifetime after which a use
// refreshes it ahead: core refreshes in the last quarter (core's
// refreshShare), so an active session is asked about once per 3/4 of the
// TTL at most. The whoami row allows 10 % over one call per that interval.
const refreshAfter = 0.75

// Users runs section 7 against a running Kratos: the peer rows (the same
// route behind Ory Oathkeeper, oathkeeperBin or where OathkeeperBinary
// finds it) and the active user across TTL boundaries, refresh ahead on
// and off.
func Users(ctx context.Context, cfg Config, srv *kratos.Kratos, oathkeeperBin string) []Row {
	var rows []Row
	if bin, err := OathkeeperBinary(oathkeeperBin); err != nil {
		rows = append(rows, failed(sectionUsers, "peer: the same route behind Ory Oathkeeper", err))
	} else {
		rows = append(rows, Peer(ctx, cfg, srv, bin)...)
	}
	if ctx.Err() != nil {
		return rows
	}
	return append(rows, ActiveUser(ctx, cfg, srv)...)
}

// userRun is what one active user saw.
type userRun struct {
	lat     []float64     // ns, every request after the first (which fills the cache)
	whoami  int64         // whoami calls that reached the fault proxy, the first included
	elapsed time.Duration // from the first click to the last answer
}

// ActiveUser runs two active users at once, side by side, each with its
// own guard and fault proxy in front of the same Kratos: one with refresh
// ahead on (the default), one with it off (CacheConfig.NoRefreshAhead).
// Each clicks for cfg.UserTime.
func ActiveUser(ctx context.Context, cfg Config, srv *kratos.Kratos) []Row {
	const figure = "active user"
	bs, err := srv.RegisterBrowser(ctx, "bench-user-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
	if err != nil {
		return []Row{failed(sectionUsers, figure+": sign up a browser", err)}
	}
	header := browserHeader(browserCookies(kratos.SessionCookieName, bs.Cookie.Value))
	cfg.logf("active user: a click every %v for %v, TTL %v, whoami %v away, refresh ahead on and off at once", userClick, cfg.UserTime, userTTL, userDelay)
	var runs [2]userRun // refresh ahead on, off
	var errs [2]error
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { runs[i], errs[i] = activeUser(ctx, cfg.UserTime, srv.PublicURL(), header, i == 0) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return []Row{failed(sectionUsers, figure, err)}
		}
	}
	return userRows(cfg.UserTime, runs[0], runs[1])
}

// userRows are the active user's rows from the run with refresh ahead on
// and the one with it off.
func userRows(d time.Duration, on, off userRun) []Row {
	setting := fmt.Sprintf("one click every %v for %v, cache TTL %v, whoami %v away (fault proxy in front of the real Kratos)",
		userClick, d, userTTL, userDelay)
	waited := func(r userRun) int {
		n := 0
		for _, x := range r.lat {
			if x > float64(userWaited) {
				n++
			}
		}
		return n
	}
	lat := func(r userRun) string {
		if len(r.lat) == 0 {
			return "no requests"
		}
		return fmt.Sprintf("p50 %s, p99 %s, max %s", ms(percentile(r.lat, 50)), ms(percentile(r.lat, 99)), ms(percentile(r.lat, 100)))
	}
	perMin := func(r userRun) float64 {
		if r.elapsed <= 0 {
			return 0
		}
		return float64(r.whoami) / r.elapsed.Minutes()
	}
	maxPerMin := 1.1 * float64(time.Minute) / (refreshAfter * float64(userTTL))
	wOn, wOff := waited(on), waited(off)
	return []Row{
		{sectionUsers, "active user: latency of every click after the first, refresh ahead on vs off; " + setting,
			fmt.Sprintf("on: %s; off: %s", lat(on), lat(off)), "", Info},
		{sectionUsers, fmt.Sprintf("active user: clicks that waited (> %v), refresh ahead on vs off", userWaited),
			fmt.Sprintf("on %d of %d; off %d of %d", wOn, len(on.lat), wOff, len(off.lat)), "on: 0", check(wOn == 0 && len(on.lat) > 0)},
		{sectionUsers, "active user: whoami calls per active session per minute, refresh ahead on vs off (counted at the fault proxy, the first lookup included)",
			fmt.Sprintf("on %.0f, off %.0f (on/off %.2f; %d vs %d calls in %v)", perMin(on), perMin(off), perMin(on)/max(perMin(off), 1e-9),
				on.whoami, off.whoami, on.elapsed.Round(100*time.Millisecond)),
			fmt.Sprintf("on <= %.0f (one per 3/4 TTL, +10%%)", maxPerMin), check(on.whoami > 0 && perMin(on) <= maxPerMin)},
	}
}

// activeUser runs one user for d: a fault proxy holding whoami answers
// back userDelay in front of kratosURL, a guard (cache TTL userTTL, refresh
// ahead as ahead says) serving one net/http route, and one browser that
// requests the route every userClick over one keep-alive connection.
func activeUser(ctx context.Context, d time.Duration, kratosURL string, header http.Header, ahead bool) (userRun, error) {
	var run userRun
	p, err := faultproxy.New(kratosURL)
	if err != nil {
		return run, err
	}
	defer func() { _ = p.Close() }()
	if err := p.Set(faultproxy.Lag(userDelay)); err != nil {
		return run, err
	}
	g, err := core.New(core.Config{OryURL: p.URL(), Logger: quiet,
		Cache: core.CacheConfig{TTL: userTTL, NoRefreshAhead: !ahead}})
	if err != nil {
		return run, err
	}
	defer func() { _ = g.Close() }()
	served := newCounters(pathProtected)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathProtected, oryhttp.Middleware(g)(netHTTPHandler(served[pathProtected])))
	a, err := serveHTTP(mux, served)
	if err != nil {
		return run, err
	}
	defer func() { _ = a.Close() }()

	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	browser := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tick := time.NewTicker(userClick)
	defer tick.Stop()
	start := time.Now()
	for first := true; time.Since(start) < d; first = false {
		sent := time.Now()
		status, err := get(ctx, browser, a.URL+pathProtected, header)
		took := time.Since(sent)
		if err != nil {
			return run, fmt.Errorf("active user: %w", err)
		}
		if status != http.StatusOK {
			return run, fmt.Errorf("active user: the guard answered %d after %d clicks", status, len(run.lat))
		}
		if !first {
			run.lat = append(run.lat, float64(took))
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return run, ctx.Err()
		}
	}
	run.elapsed = time.Since(start)
	run.whoami = p.RequestsTo("/sessions/whoami")
	return run, nil
}
