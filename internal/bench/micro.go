package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Targets of the core micro-benchmarks.
const (
	hitMaxNs     = 500
	hitMaxAllocs = 2
	missMaxRatio = 1.1
)

// SetBenchTime sets the length of one testing.Benchmark run (the
// -test.benchtime flag, registered by testing.Init when needed).
func SetBenchTime(d time.Duration) error {
	testing.Init()
	return flag.Set("test.benchtime", d.String())
}

// benchFunc is a micro-benchmark: setup, then b.Loop.
type benchFunc func(b *testing.B) error

// runBench runs f under testing.Benchmark and returns ns/op and allocs/op.
func runBench(f benchFunc) (nsOp, allocsOp float64, err error) {
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		if e := f(b); e != nil {
			err = e
			b.FailNow()
		}
	})
	if err != nil {
		return 0, 0, err
	}
	if res.N == 0 {
		return 0, 0, errors.New("benchmark did not run")
	}
	return float64(res.T.Nanoseconds()) / float64(res.N), float64(res.MemAllocs) / float64(res.N), nil
}

// interleave runs the benchmarks one after another (A, B, B, A, ...),
// rounds times, and returns every round's ns/op and allocs/op per
// benchmark.
func interleave(rounds int, fs ...benchFunc) (nsOps, allocs [][]float64, err error) {
	nsOps, allocs = make([][]float64, len(fs)), make([][]float64, len(fs))
	for round := range max(1, rounds) {
		for _, i := range order(len(fs), round) {
			n, a, err := runBench(fs[i])
			if err != nil {
				return nil, nil, err
			}
			nsOps[i] = append(nsOps[i], n)
			allocs[i] = append(allocs[i], a)
		}
	}
	return nsOps, allocs, nil
}

var quiet = slog.New(slog.DiscardHandler)

// hitBench is the cache-hit path: the request carries the credential, the
// cache holds its session, Ory is asked once before the timer starts.
func hitBench(req *core.Request, credential string) benchFunc {
	return hitBenchShared(req, credential, nil)
}

// hitBenchShared is hitBench with a shared tier configured (nil: none).
func hitBenchShared(req *core.Request, credential string, shared core.SharedCache) benchFunc {
	return func(b *testing.B) error {
		ory := orytest.NewServer()
		defer ory.Close()
		ory.Session(credential, orytest.ActiveSession("s1", "a@example.com"))
		g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour, Shared: shared}})
		if err != nil {
			return err
		}
		rt := g.Route()
		ctx := context.Background()
		if d := rt.Authenticate(ctx, req); !d.Allow {
			return fmt.Errorf("hit path: first request denied with %d", d.Status)
		}
		denied := 0
		for b.Loop() {
			if d := rt.Authenticate(ctx, req); !d.Allow {
				denied++
			}
		}
		b.StopTimer()
		if denied > 0 {
			return fmt.Errorf("hit path: %d requests denied", denied)
		}
		if n := ory.Calls(); n != 1 && (shared == nil || n != 0) { // 0: an earlier round shared it
			return fmt.Errorf("hit path: %d whoami calls, want 1", n)
		}
		return nil
	}
}

func hitCookieRequest() *core.Request {
	return &core.Request{
		Method: http.MethodGet, URI: "/dashboard", Accept: "text/html",
		Cookies: []string{browserCookies("ory_kratos_session", kratosCookieValue)},
	}
}

const benchToken = "ory_st_kTdvYbkLcEQ1Q8y3wXW2i2VnXQuBtJbK"

func hitTokenRequest() *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/api", SessionToken: benchToken}
}

// missBench is the uncached path through the guard: one whoami call to the
// fake per request.
func missBench(b *testing.B) error {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(benchToken, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet})
	if err != nil {
		return err
	}
	rt := g.Route()
	req := hitTokenRequest()
	ctx := context.Background()
	denied := 0
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			denied++
		}
	}
	if denied > 0 {
		return fmt.Errorf("miss path: %d requests denied", denied)
	}
	return nil
}

// bareBench is client-go's ToSession alone against the same fake, over a
// transport that keeps connections like the guard's.
func bareBench(b *testing.B) error {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(benchToken, orytest.ActiveSession("s1", "a@example.com"))
	api := bareClient(ory.URL)
	ctx := context.Background()
	return bareLoop(b, func() (*client.Session, *http.Response, error) {
		return api.FrontendAPI.ToSession(ctx).XSessionToken(benchToken).Execute()
	})
}

// bareLoop times one bare client-go call per iteration and reports calls
// that did not return a session.
func bareLoop(b *testing.B, call func() (*client.Session, *http.Response, error)) error {
	failed := 0
	for b.Loop() {
		s, resp, err := call()
		if err != nil || s == nil {
			failed++
		}
		if resp != nil {
			_ = resp.Body.Close()
		}
	}
	if failed > 0 {
		return fmt.Errorf("bare ToSession: %d calls failed", failed)
	}
	return nil
}

// bareClient is a client-go client whose transport keeps idle connections
// like the guard's default client does, so that only the guard's own work
// differs.
func bareClient(base string) *client.APIClient {
	cfg := client.NewConfiguration()
	cfg.Servers = client.ServerConfigurations{{URL: base}}
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return client.NewAPIClient(cfg)
}

// Micro runs section 1: the core hit path (cookie and token) and the
// uncached path next to a bare ToSession call, on a fake whoami.
func Micro(ctx context.Context, cfg Config) []Row {
	const sec = "1 core"
	var rows []Row
	cfg.logf("core hit path: %d rounds of %v (cookie, token interleaved)", cfg.MicroRounds, cfg.BenchTime)
	hitNs, hitAllocs, err := interleave(cfg.MicroRounds,
		hitBench(hitCookieRequest(), kratosCookieValue), hitBench(hitTokenRequest(), benchToken))
	if err != nil {
		rows = append(rows, failed(sec, "hit path", err))
	} else {
		for i, name := range []string{"hit path, browser cookie (200-byte Kratos cookie among 4 app cookies)", "hit path, X-Session-Token"} {
			n, a := median(hitNs[i]), median(hitAllocs[i])
			rows = append(rows,
				Row{sec, name + ": time", fmt.Sprintf("%s/op (rounds %s)", ns(n), spread(hitNs[i], ns)), fmt.Sprintf("<= %d ns", hitMaxNs), check(n <= hitMaxNs)},
				Row{sec, name + ": allocations", fmt.Sprintf("%.0f allocs/op", a), fmt.Sprintf("<= %d", hitMaxAllocs), check(a <= hitMaxAllocs)})
		}
	}
	if ctx.Err() != nil {
		return rows
	}
	cfg.logf("uncached path vs bare ToSession: %d rounds of %v", cfg.MicroRounds, cfg.BenchTime)
	missNs, missAllocs, err := interleave(cfg.MicroRounds, missBench, bareBench)
	if err != nil {
		return append(rows, failed(sec, "uncached path", err))
	}
	ratio := pairRatio(missNs[0], missNs[1])
	rows = append(rows,
		Row{sec, "uncached path (guard, cache off) / bare client-go ToSession, fake whoami on loopback, one at a time",
			fmt.Sprintf("%.3f (medians %s vs %s per call; %.0f vs %.0f allocs)", ratio, us(median(missNs[0])), us(median(missNs[1])), median(missAllocs[0]), median(missAllocs[1])),
			fmt.Sprintf("<= %.1f", missMaxRatio), check(ratio <= missMaxRatio)})
	return rows
}
