package bench

import (
	"context"
	"flag"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// tiny is a configuration that runs every measurement in a fraction of a
// second, with the Go load loop: the figures mean nothing, the code paths
// are what is tested.
func tiny(t *testing.T) Config {
	t.Helper()
	shortBenchTime(t)
	return Config{
		BenchTime: 5 * time.Millisecond, MicroRounds: 2,
		Load: &GoLoader{Conns: 4}, LoadTime: 100 * time.Millisecond, KratosLoadTime: 100 * time.Millisecond, LoadRounds: 2,
		Collapse: 20, CollapseDelay: 300 * time.Millisecond,
		MaxEntries: 200, Flood: 2, UserTime: 1500 * time.Millisecond,
		Log: testWriter{t},
	}
}

// shortBenchTime makes testing.Benchmark runs 5ms long until the test
// ends, then gives back -test.benchtime, so that go test -bench's own
// benchmarks keep the length asked for.
func shortBenchTime(t *testing.T) {
	t.Helper()
	old := flag.Lookup("test.benchtime").Value.String()
	if err := SetBenchTime(5 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := flag.Set("test.benchtime", old); err != nil {
			t.Error(err)
		}
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// wantNoErrors fails for rows whose measurement failed, and logs them all.
func wantNoErrors(t *testing.T, rows []Row) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	var b strings.Builder
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	for _, r := range rows {
		if r.Verdict == Failed {
			t.Errorf("%s: %s", r.Figure, r.Value)
		}
	}
}

func wantMet(t *testing.T, r Row) {
	t.Helper()
	if r.Verdict != Met {
		t.Errorf("%s: %s (target %s): %v", r.Figure, r.Value, r.Target, r.Verdict)
	}
}

func TestMicro(t *testing.T) {
	rows := Micro(t.Context(), tiny(t))
	wantNoErrors(t, rows)
	if len(rows) != 5 {
		t.Errorf("%d rows, want 5", len(rows))
	}
}

func TestInProcess(t *testing.T) {
	rows := InProcess(t.Context(), tiny(t))
	wantNoErrors(t, rows)
	if len(rows) != 1+len(inprocAdapters) {
		t.Errorf("%d rows, want %d", len(rows), 1+len(inprocAdapters))
	}
	for _, label := range []string{"orygrpc unary", "oryconnect unary"} {
		found := false
		for _, r := range rows {
			if strings.HasPrefix(r.Figure, label+":") {
				found = true
				if !strings.Contains(r.Value, "× the unguarded method") {
					t.Errorf("%s: %q gives no ratio to the unguarded method", label, r.Value)
				}
			}
		}
		if !found {
			t.Errorf("no in-process row for %s", label)
		}
	}
}

func TestRatios(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want []float64
	}{
		{name: "per round", a: []float64{10, 30}, b: []float64{5, 10}, want: []float64{2, 3}},
		{name: "zero open round left out", a: []float64{10, 30}, b: []float64{0, 10}, want: []float64{3}},
		{name: "shorter side bounds", a: []float64{8}, b: []float64{4, 1}, want: []float64{2}},
	}
	for _, tt := range tests {
		if got := ratios(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ratios = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseBenchLine(t *testing.T) {
	const out = `goos: linux
pkg: github.com/oryguard/oryguard/internal/bench
BenchmarkHit/nethttp-2   	 1000000	       612.5 ns/op	     320 B/op	       1 allocs/op
PASS
`
	line, ok := benchLine(out)
	if !ok || !strings.HasPrefix(line, "BenchmarkHit/nethttp-2 ") || strings.HasSuffix(line, "\n") {
		t.Fatalf("benchLine = %q, %v", line, ok)
	}
	n, a, err := parseBenchLine(line)
	if err != nil || n != 612.5 || a != 1 {
		t.Errorf("parseBenchLine = %v, %v, %v", n, a, err)
	}
	if _, _, err := parseBenchLine("BenchmarkHit/core-2 100 5 ns/op\nPASS\n"); err == nil {
		t.Error("no error without allocs/op")
	}
	if _, ok := benchLine("PASS\nok  \tx\t0.1s\n"); ok {
		t.Error("benchLine found a line in output without results")
	}
}

// Every in-process case runs and is named as BenchmarkHit's sub-benchmarks
// were at older revisions, so that bench -baseline can pair them.
func TestHitCases(t *testing.T) {
	shortBenchTime(t)
	var names []string
	for _, c := range HitCases() {
		names = append(names, c.Name)
		if _, _, err := runBench(c.F); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	want := "core nethttp nethttp-open gin gin-open echo echo-open echov5 echov5-open fiber fiber-open fiberv3 fiberv3-open grpc grpc-open connect connect-open"
	if strings.Join(names, " ") != want {
		t.Errorf("cases %v, want %s", names, want)
	}
}

func TestAdapters(t *testing.T) {
	cfg := tiny(t)
	for _, fw := range Adapters {
		t.Run(strings.ReplaceAll(fw, "/", ""), func(t *testing.T) {
			wantNoErrors(t, []Row{AdapterThroughput(t.Context(), cfg, fw)})
		})
	}
}

// TestAdaptersDeny checks that every benchmark app really guards
// pathProtected: without the session cookie the handler must not run, or
// a throughput figure could come from denials.
// TestHitRPCDeny checks that the RPC hit cases measure a guarded method:
// without a session token the guarded call never reaches the method, and
// the unguarded one does.
func TestHitRPCDeny(t *testing.T) {
	shortBenchTime(t)
	for _, name := range hitRPCs {
		if _, _, err := runBench(hitRPCWith(name, true, "")); err == nil || !strings.Contains(err.Error(), "denied") {
			t.Errorf("%s guarded without a token: err %v, want denied", name, err)
		}
		if _, _, err := runBench(hitRPCWith(name, false, "")); err != nil {
			t.Errorf("%s unguarded without a token: %v", name, err)
		}
	}
}

func TestAdaptersDeny(t *testing.T) {
	g := newTestGuard(t)
	for _, fw := range Adapters {
		t.Run(strings.ReplaceAll(fw, "/", ""), func(t *testing.T) {
			a, err := startApp(fw, g)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			status, err := get(t.Context(), noRedirects, a.URL+pathProtected, browserHeader("theme=dark"))
			if err != nil {
				t.Fatal(err)
			}
			if status != http.StatusSeeOther || a.served[pathProtected].Load() != 0 {
				t.Errorf("no session: status %d, handler ran %d times; want 303 and 0", status, a.served[pathProtected].Load())
			}
			if status, err := get(t.Context(), noRedirects, a.URL+pathOpen, nil); err != nil || status != http.StatusOK {
				t.Errorf("open route: %d, %v", status, err)
			}
		})
	}
}

func TestCompareLoadCatchesDenials(t *testing.T) {
	g := newTestGuard(t)
	a, err := startApp("net/http", g)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// wrk counts a redirect as a success; the handler count must catch it.
	l := fakeLoader{res: LoadResult{Requests: 10, Elapsed: time.Second}}
	_, err = compareLoad(t.Context(), l, []target{a.target(pathProtected)}, nil, 1, time.Millisecond, 0)
	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Errorf("err = %v, want a denial error", err)
	}
}

type fakeLoader struct{ res LoadResult }

func (fakeLoader) Name() string { return "fake" }
func (l fakeLoader) Run(context.Context, string, http.Header, time.Duration) (LoadResult, error) {
	return l.res, nil
}

func TestGoLoaderCountsRedirectsAsErrors(t *testing.T) {
	a, err := startApp("net/http", newTestGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := (&GoLoader{Conns: 2}).Run(t.Context(), a.URL+pathProtected, nil, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Bad != res.Requests {
		t.Errorf("%d requests, %d bad; want all bad (303 to login)", res.Requests, res.Bad)
	}
}

func TestCollapseFake(t *testing.T) {
	r := CollapseFake(t.Context(), tiny(t))
	wantNoErrors(t, []Row{r})
	wantMet(t, r)
}

func TestMemory(t *testing.T) {
	rows := Memory(t.Context(), tiny(t))
	wantNoErrors(t, rows)
	wantMet(t, rows[len(rows)-1]) // the cache holds at most MaxEntries sessions
}

func TestKratos(t *testing.T) {
	srv := kratos.StartKratosT(t, kratos.KratosOptions{LogLevel: "error"})
	rows := Kratos(t.Context(), tiny(t), srv)
	wantNoErrors(t, rows)
	wantMet(t, rows[len(rows)-1]) // one whoami call for the burst
}

func TestParseWrk(t *testing.T) {
	const out = `Running 2s test @ http://127.0.0.1:40000/protected
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   310.12us  120.40us   4.10ms   90.00%
    Req/Sec    51.20k     1.10k   53.00k    75.00%
  101882 requests in 2.00s, 12.05MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  50941.00
Transfer/sec:      6.02MB
`
	res, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 101882 || res.Elapsed != 2*time.Second || res.Bad != 7 {
		t.Errorf("got %+v", res)
	}
	if got := res.RPS(); got != 50941 {
		t.Errorf("RPS = %v", got)
	}
	if _, err := ParseWrk("unable to connect"); err == nil {
		t.Error("no error for output without a summary")
	}
}

func TestLoadOnlyToLoopback(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1/", "http://example.com/", "http://192.168.1.1:8080/x"} {
		if _, err := (&GoLoader{Conns: 1}).Run(t.Context(), u, nil, time.Millisecond); err == nil {
			t.Errorf("%s: no error", u)
		}
		if _, err := (&WrkLoader{Path: "/bin/false"}).Run(t.Context(), u, nil, time.Millisecond); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1/", "http://[::1]:1/"} {
		if err := loopbackOnly(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestMachine(t *testing.T) {
	if CPUModel() == "" {
		t.Error("no CPU model")
	}
	if LoadAvg() == "" {
		t.Error("no load average")
	}
	if idle, ok := CPUIdle(20 * time.Millisecond); ok && (idle < 0 || idle > 1) {
		t.Errorf("idle %v", idle)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestOrder(t *testing.T) {
	var got []int
	for round := range 3 {
		got = append(got, order(3, round)...)
	}
	if want := []int{0, 1, 2, 2, 1, 0, 0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestPairRatio(t *testing.T) {
	// Round 2 was disturbed on both sides alike; the pairs still agree.
	if got := pairRatio([]float64{10, 5, 11}, []float64{20, 10, 20}); got != 0.5 {
		t.Errorf("pairRatio = %v, want 0.5", got)
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	err := WriteTable(&b, []Row{
		{"1 core", "a|b", "1", "<= 2", Met},
		{"2 adapters", "c", "3", ">= 4", Missed},
		{"3 kratos", "d", "x", "", Info},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"met?", "---", "a\\|b", "NO", "| -"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
}

// newTestGuard is a guard with the cache on, in front of a fake Ory that
// knows the benchmark cookie.
func newTestGuard(t *testing.T) *core.Guard {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(kratosCookieValue, orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kratos and redis-server")
	}
	srv := kratos.StartKratosT(t, kratos.KratosOptions{LogLevel: "error"})
	rows := Fleet(t.Context(), tiny(t), srv)
	wantNoErrors(t, rows)
	if len(rows) != 4 {
		t.Errorf("%d rows, want 4", len(rows))
	}
}
