package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/adapters/redis/redistest"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/fleet"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// Targets of the fleet rows.
const (
	sharedHitMaxRatio = 1.05
	logoutMaxP99      = 100 * time.Millisecond
)

const benchFleetSecret = "bench-fleet-secret-0123456789abcdefghijkl"

// Fleet runs section 6: the shared session tier on a real redis-server,
// three app processes and the real Kratos. It needs redis-server on PATH.
func Fleet(ctx context.Context, cfg Config, srv *kratos.Kratos) []Row {
	const sec = "6 fleet"
	rs, err := redistest.Start(ctx)
	if err != nil {
		return []Row{failed(sec, "start redis-server", err)}
	}
	defer func() { _ = rs.Stop() }()
	rows := []Row{sharedHitPath(cfg, rs.Addr)}
	if ctx.Err() != nil {
		return rows
	}
	rows = append(rows, sharedVsKratos(ctx, cfg, rs.Addr, srv))
	if ctx.Err() != nil {
		return rows
	}
	return append(rows, fleetRows(ctx, cfg, rs, srv)...)
}

func newTier(addr string) (*oryredis.Tier, func(), error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t, err := oryredis.New(oryredis.Config{Client: rdb, Secrets: []string{benchFleetSecret}, Logger: quiet})
	if err != nil {
		_ = rdb.Close()
		return nil, nil, fmt.Errorf("shared tier: %w", err)
	}
	return t, func() { _ = t.Close(); _ = rdb.Close() }, nil
}

// sharedHitPath is the in-process hit path with a shared tier configured
// next to the same without, interleaved.
func sharedHitPath(cfg Config, addr string) Row {
	const sec = "6 fleet"
	figure := "in-process hit path with the shared tier configured / without (X-Session-Token)"
	tier, closeTier, err := newTier(addr)
	if err != nil {
		return failed(sec, figure, err)
	}
	defer closeTier()
	cfg.logf("hit path with and without the shared tier: %d rounds of %v", cfg.MicroRounds, cfg.BenchTime)
	nsOps, _, err := interleave(cfg.MicroRounds, hitBenchShared(hitTokenRequest(), benchToken, tier), hitBench(hitTokenRequest(), benchToken))
	if err != nil {
		return failed(sec, figure, err)
	}
	r := pairRatio(nsOps[0], nsOps[1])
	return Row{sec, figure, fmt.Sprintf("%.3f (medians %s vs %s/op)", r, ns(median(nsOps[0])), ns(median(nsOps[1]))),
		fmt.Sprintf("<= %.2f", sharedHitMaxRatio), check(r <= sharedHitMaxRatio)}
}

// sharedVsKratos compares a lookup answered by the shared tier (an
// in-process miss, one Redis round trip, decrypt, decode) with a lookup
// answered by a whoami to the real Kratos (cache off), interleaved.
func sharedVsKratos(ctx context.Context, cfg Config, addr string, srv *kratos.Kratos) Row {
	const sec = "6 fleet"
	figure := "lookup from the shared tier (Redis) vs whoami to the real Kratos, one at a time"
	tier, closeTier, err := newTier(addr)
	if err != nil {
		return failed(sec, figure, err)
	}
	defer closeTier()
	const n = 300
	ory := orytest.NewServer()
	defer ory.Close()
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = "ory_st_" + rand.Text()[:26]
		ory.Session(tokens[i], orytest.ActiveSession(fmt.Sprintf("s%d", i), "a@example.com"))
	}
	writer, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour, Shared: tier}})
	if err != nil {
		return failed(sec, figure, err)
	}
	for _, tok := range tokens {
		if !writer.Route().Authenticate(ctx, &core.Request{URI: "/", SessionToken: tok}).Allow {
			return failed(sec, figure, errors.New("filling the shared tier: denied"))
		}
	}
	as, err := srv.RegisterAPI(ctx, "bench-shared-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
	if err != nil {
		return failed(sec, figure, err)
	}
	kg, err := core.New(core.Config{OryURL: srv.PublicURL(), Logger: quiet})
	if err != nil {
		return failed(sec, figure, err)
	}
	calls := ory.Calls()
	var shared, whoami []float64
	cfg.logf("shared-tier lookups vs whoami to Kratos: %d rounds of %d", cfg.MicroRounds, n)
	for range max(1, cfg.MicroRounds) {
		// A fresh guard per round: every token is an in-process miss.
		g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour, Shared: tier}})
		if err != nil {
			return failed(sec, figure, err)
		}
		start := time.Now()
		for _, tok := range tokens {
			if !g.Route().Authenticate(ctx, &core.Request{URI: "/", SessionToken: tok}).Allow {
				return failed(sec, figure, errors.New("shared-tier lookup denied"))
			}
		}
		shared = append(shared, float64(time.Since(start).Nanoseconds())/n)
		start = time.Now()
		for range n {
			if !kg.Route().Authenticate(ctx, &core.Request{URI: "/", SessionToken: as.Token}).Allow {
				return failed(sec, figure, errors.New("whoami to Kratos denied"))
			}
		}
		whoami = append(whoami, float64(time.Since(start).Nanoseconds())/n)
	}
	if ory.Calls() != calls {
		return failed(sec, figure, fmt.Errorf("%d lookups reached Ory instead of the shared tier", ory.Calls()-calls))
	}
	return Row{sec, figure, fmt.Sprintf("%.1fx faster (medians %s vs %s per lookup)", pairRatio(whoami, shared), us(median(shared)), us(median(whoami))), "", Info}
}

// fleetRows starts three app processes twice (shared tier, then in-process
// caches only) in front of the real Kratos through a counting proxy, and
// measures whoami calls for S sessions and the logout propagation.
func fleetRows(ctx context.Context, cfg Config, rs *redistest.Server, srv *kratos.Kratos) []Row {
	const sec = "6 fleet"
	sessions, runs := 40, 60
	if cfg.Collapse < 100 { // the quick and test configurations
		sessions, runs = 4, 4
	}
	dir, err := os.MkdirTemp("", "oryguard-bench-fleet-*")
	if err != nil {
		return []Row{failed(sec, "fleet", err)}
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cfg.logf("building the fleet app")
	bin, err := fleet.BuildApp(ctx, dir)
	if err != nil {
		return []Row{failed(sec, "build the fleet app", err)}
	}
	tokens := make([]string, sessions)
	for i := range tokens {
		s, err := srv.RegisterAPI(ctx, "bench-fleet-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text())
		if err != nil {
			return []Row{failed(sec, "sign up", err)}
		}
		tokens[i] = s.Token
	}
	calls := map[bool]int64{}
	var lat []float64
	for _, shared := range []bool{true, false} {
		proxy, err := fleet.NewProxy(srv.PublicURL())
		if err != nil {
			return []Row{failed(sec, "proxy", err)}
		}
		app := fleet.AppConfig{OryURL: proxy.URL, TTL: time.Minute}
		if shared {
			app.Redis, app.Secrets = rs.Addr, []string{benchFleetSecret}
		}
		apps, stop, err := startApps(ctx, bin, app)
		if err != nil {
			proxy.Close()
			return []Row{failed(sec, "start the fleet", err)}
		}
		cfg.logf("fleet (shared=%v): %d sessions on 3 instances", shared, sessions)
		err = useEverywhere(ctx, apps, tokens, 3)
		calls[shared] = proxy.Whoami()
		if err == nil && shared {
			cfg.logf("fleet: logout propagation, %d runs", runs)
			lat, err = logoutLatencies(ctx, apps, srv, runs)
		}
		stop()
		proxy.Close()
		if err != nil {
			return []Row{failed(sec, "fleet", err)}
		}
	}
	slices.Sort(lat)
	p50, p99 := time.Duration(lat[len(lat)/2]), time.Duration(lat[len(lat)*99/100])
	return []Row{
		{sec, fmt.Sprintf("whoami calls for %d sessions, each used 3 times on each of 3 instances within one TTL: shared tier vs in-process caches only", sessions),
			fmt.Sprintf("%d vs %d", calls[true], calls[false]), fmt.Sprintf("shared = %d", sessions), check(calls[true] == int64(sessions))},
		{sec, fmt.Sprintf("logout through A until B and C deny (native logout, %d runs x 2 instances, after A answered)", runs),
			fmt.Sprintf("p50 %v, p99 %v", p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond)),
			fmt.Sprintf("p99 <= %v", logoutMaxP99), check(p99 <= logoutMaxP99)},
	}
}

func startApps(ctx context.Context, bin string, app fleet.AppConfig) ([]*fleet.Instance, func(), error) {
	var apps []*fleet.Instance
	stop := func() {
		for _, a := range apps {
			a.Stop()
		}
	}
	for range 3 {
		in, err := fleet.Start(ctx, bin, app)
		if err != nil {
			stop()
			return nil, nil, err
		}
		apps = append(apps, in)
	}
	return apps, stop, nil
}

func useEverywhere(ctx context.Context, apps []*fleet.Instance, tokens []string, rounds int) error {
	for range rounds {
		for _, in := range apps {
			for _, tok := range tokens {
				st, err := in.Me(ctx, tok)
				if err != nil {
					return err
				}
				if st != http.StatusOK {
					return fmt.Errorf("instance answered %d", st)
				}
			}
		}
	}
	return nil
}

// logoutLatencies logs a fresh session out through the first instance and
// times, from A's answer, until the other two deny it.
func logoutLatencies(ctx context.Context, apps []*fleet.Instance, srv *kratos.Kratos, runs int) ([]float64, error) {
	email, password := "bench-logout-"+rand.Text()[:10]+"@example.com", "Bench-"+rand.Text()
	if _, err := srv.RegisterAPI(ctx, email, password); err != nil {
		return nil, err
	}
	var lat []float64
	for range runs {
		s, err := srv.LoginAPI(ctx, email, password)
		if err != nil {
			return nil, err
		}
		if err := useEverywhere(ctx, apps, []string{s.Token}, 1); err != nil {
			return nil, err
		}
		if st, err := apps[0].Logout(ctx, s.Token); err != nil || st != http.StatusNoContent {
			return nil, fmt.Errorf("logout: %d, %w", st, err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		for _, in := range apps[1:] {
			wg.Go(func() {
				for {
					st, err := in.Me(ctx, s.Token)
					if err == nil && st == http.StatusUnauthorized {
						mu.Lock()
						lat = append(lat, float64(time.Since(start)))
						mu.Unlock()
						return
					}
					if err != nil || st != http.StatusOK || time.Since(start) > 5*time.Second {
						mu.Lock()
						errs = append(errs, fmt.Errorf("waiting for a denial: status %d: %w", st, err))
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return lat, nil
}
