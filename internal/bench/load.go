package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// LoadResult is what one bounded load run achieved.
type LoadResult struct {
	Requests int64         // completed requests
	Bad      int64         // answers other than 2xx/3xx, and socket errors
	Elapsed  time.Duration // how long the run lasted
	// P50 and P99 are the latency percentiles of the run's requests
	// (queueing included: the generator keeps every connection busy);
	// zero when the generator gave none.
	P50, P99 time.Duration
}

// RPS is the throughput of the run in requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Loader sends as many GET requests as it can to one URL for a bounded time.
type Loader interface {
	// Name describes the load generator and its settings.
	Name() string
	// Run loads target (a 127.0.0.1 URL) with header on every request for
	// about d.
	Run(ctx context.Context, target string, header http.Header, d time.Duration) (LoadResult, error)
}

// loopbackOnly refuses any target that is not on 127.0.0.1: load is only
// ever sent to this machine.
func loopbackOnly(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load target %q is not a loopback address", target)
	}
	return nil
}

// NewLoader returns wrk when kind is "wrk", or when kind is "auto" and wrk
// is installed; otherwise the Go load loop. conns is the number of
// connections (and wrk's -c), threads is wrk's -t.
func NewLoader(kind string, conns, threads int) (Loader, error) {
	switch kind {
	case "go":
		return &GoLoader{Conns: conns}, nil
	case "wrk", "auto":
		path, err := exec.LookPath("wrk")
		if err == nil {
			return &WrkLoader{Path: path, Conns: conns, Threads: threads}, nil
		}
		if kind == "wrk" {
			return nil, fmt.Errorf("wrk not found: %w (install the Debian package wrk, or use -load go)", err)
		}
		return &GoLoader{Conns: conns}, nil
	}
	return nil, fmt.Errorf("unknown load generator %q (want auto, wrk or go)", kind)
}

// WrkLoader runs wrk (github.com/wg/wrk, the Debian package) as a separate
// process, so the load generator does not share the server's Go runtime.
type WrkLoader struct {
	Path           string
	Conns, Threads int
}

// Name implements Loader.
func (l *WrkLoader) Name() string {
	return fmt.Sprintf("wrk -t%d -c%d (keep-alive, HTTP/1.1)", l.Threads, l.Conns)
}

// Run implements Loader. wrk counts in whole seconds, so d is rounded up to
// at least one second.
func (l *WrkLoader) Run(ctx context.Context, target string, header http.Header, d time.Duration) (LoadResult, error) {
	if err := loopbackOnly(target); err != nil {
		return LoadResult{}, err
	}
	secs := max(1, int(math.Ceil(d.Seconds())))
	args := []string{
		"-t" + strconv.Itoa(max(1, l.Threads)), "-c" + strconv.Itoa(max(1, l.Conns)),
		"-d" + strconv.Itoa(secs) + "s", "--timeout", "5s", "--latency",
	}
	for _, k := range slices.Sorted(maps.Keys(header)) {
		for _, v := range header[k] {
			args = append(args, "-H", k+": "+v)
		}
	}
	args = append(args, target)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, l.Path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return LoadResult{}, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(errOut.String()))
	}
	return ParseWrk(out.String())
}

var (
	wrkDone    = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(us|ms|s|m)\b`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockets = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	// wrkPercentile is a line of the Latency Distribution that --latency
	// prints, such as "     99%    1.02ms".
	wrkPercentile = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
)

// wrkUnits are the time units of wrk's output.
var wrkUnits = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}

// ParseWrk reads the summary wrk prints.
func ParseWrk(out string) (LoadResult, error) {
	m := wrkDone.FindStringSubmatch(out)
	if m == nil {
		return LoadResult{}, fmt.Errorf("wrk: no summary in its output: %q", oneLine(out))
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	v, _ := strconv.ParseFloat(m[2], 64)
	res := LoadResult{Requests: n, Elapsed: time.Duration(v * float64(wrkUnits[m[3]]))}
	for _, p := range wrkPercentile.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		d := time.Duration(v * float64(wrkUnits[p[3]]))
		if p[1] == "50" {
			res.P50 = d
		} else {
			res.P99 = d
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		bad, _ := strconv.ParseInt(m[1], 10, 64)
		res.Bad += bad
	}
	if m := wrkSockets.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			bad, _ := strconv.ParseInt(s, 10, 64)
			res.Bad += bad
		}
	}
	return res, nil
}

// GoLoader is the fallback load generator: Conns goroutines, each sending
// requests one after another over its own keep-alive connection, until the
// time is up.
type GoLoader struct {
	Conns int
}

// Name implements Loader.
func (l *GoLoader) Name() string {
	return fmt.Sprintf("Go load loop, %d connections (keep-alive, HTTP/1.1; wrk not installed)", l.Conns)
}

// Run implements Loader.
func (l *GoLoader) Run(ctx context.Context, target string, header http.Header, d time.Duration) (LoadResult, error) {
	if err := loopbackOnly(target); err != nil {
		return LoadResult{}, err
	}
	conns := max(1, l.Conns)
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: 10 * time.Second,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done, bad atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	lat := make([][]float64, conns) // per connection: each answer's latency in ns
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				sent := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				req.Header = header.Clone()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad.Add(1)
						once.Do(func() { firstErr = err })
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode >= 300 {
					bad.Add(1)
				}
				lat[c] = append(lat[c], float64(time.Since(sent)))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	res := LoadResult{Requests: done.Load(), Bad: bad.Load(), Elapsed: time.Since(start)}
	all := slices.Concat(lat...)
	res.P50, res.P99 = time.Duration(percentile(all, 50)), time.Duration(percentile(all, 99))
	if res.Requests == 0 && firstErr != nil && !errors.Is(firstErr, context.DeadlineExceeded) {
		return res, fmt.Errorf("go load loop: %w", firstErr)
	}
	return res, nil
}

// target is one URL under load; served, when set, counts how often the
// handler behind the URL ran, so that a run whose requests were denied
// (a redirect counts as a success for wrk) is caught.
type target struct {
	url    string
	served *atomic.Int64
}

// loadRounds is what compareLoad measured: per target, every round's
// throughput and the CPU time this process spent per answer.
type loadRounds struct {
	rps    [][]float64
	cpuReq [][]float64 // ns of this process's CPU time per answer
	p50    [][]float64 // ns: each round's median latency
	p99    [][]float64 // ns: each round's 99th percentile latency
}

// compareLoad loads each of targets in turn (A, B, C, C, B, A, ...) for
// rounds rounds after a short warm-up of each, and returns every round's
// throughput per target. A run with errors, or with fewer handler runs
// than answers, is an error: a guard that denied would look fast.
func compareLoad(ctx context.Context, l Loader, targets []target, header http.Header, rounds int, d, warmup time.Duration) (loadRounds, error) {
	n := len(targets)
	out := loadRounds{rps: make([][]float64, n), cpuReq: make([][]float64, n), p50: make([][]float64, n), p99: make([][]float64, n)}
	if warmup > 0 {
		for _, t := range targets {
			if _, err := l.Run(ctx, t.url, header, warmup); err != nil {
				return out, err
			}
		}
	}
	for round := range max(1, rounds) {
		for _, i := range order(len(targets), round) {
			t := targets[i]
			var before int64
			if t.served != nil {
				before = t.served.Load()
			}
			cpu := processCPU()
			res, err := l.Run(ctx, t.url, header, d)
			cpu = processCPU() - cpu
			if err != nil {
				return out, err
			}
			if res.Bad > 0 || res.Requests == 0 {
				return out, fmt.Errorf("load on %s: %d errors among %d answers", t.url, res.Bad, res.Requests)
			}
			if t.served != nil {
				if ran := t.served.Load() - before; ran < res.Requests {
					return out, fmt.Errorf("load on %s: the handler ran %d times for %d answers: requests were denied", t.url, ran, res.Requests)
				}
			}
			out.rps[i] = append(out.rps[i], res.RPS())
			out.cpuReq[i] = append(out.cpuReq[i], float64(cpu.Nanoseconds())/float64(res.Requests))
			out.p50[i] = append(out.p50[i], float64(res.P50))
			out.p99[i] = append(out.p99[i], float64(res.P99))
		}
	}
	return out, nil
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// order is the order in which round runs n variants: forwards in even
// rounds, backwards in odd ones (A, B, B, A, ...), so that a drift in the
// machine's speed does not always favour the variant that runs first.
func order(n, round int) []int {
	o := make([]int, n)
	for i := range o {
		if round%2 == 0 {
			o[i] = i
		} else {
			o[i] = n - 1 - i
		}
	}
	return o
}
