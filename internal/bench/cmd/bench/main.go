// Command bench measures oryguard and prints one table: figure, value,
// target and whether the target was met. `make bench` runs it.
//
//	go run ./cmd/bench                  # everything, about three minutes on 2 cores
//	go run ./cmd/bench -load go         # the Go load loop instead of wrk
//	go run ./cmd/bench -skip-kratos     # without the real Kratos (and Keto)
//	go run ./cmd/bench -skip-keto       # without the permission rows against the real Keto
//	go run ./cmd/bench -baseline main   # also before/after ratios of the hit path against main,
//	                                    # and benchstat's table of BenchmarkHit old vs new
//	go run ./cmd/bench -only adapters -frameworks fiberv3,echov5 -load-rounds 31
//	                                    # section 2 alone, two adapters, more rounds
//	go run ./cmd/bench -only users      # section 7: Oathkeeper (make oathkeeper) and the active user
//
// Every comparison interleaves its variants (A, B, A, B, ...) and compares
// medians, so read the ratios first: absolute figures move with whatever
// else runs on the machine. All load goes to 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/oryguard/oryguard/internal/bench"
	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

func main() {
	code, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	os.Exit(code)
}

func run() (int, error) {
	// testing.Benchmark's flags (-test.benchtime) must exist before
	// flag.Parse; the length is set again from the configuration below.
	if err := bench.SetBenchTime(time.Second); err != nil {
		return 2, err
	}
	var (
		load       = flag.String("load", "auto", "load generator: auto (wrk when installed, else the Go loop), wrk or go")
		conns      = flag.Int("conns", 16, "connections of the load generator")
		threads    = flag.Int("threads", 1, "wrk threads")
		skipKratos = flag.Bool("skip-kratos", false, "skip the measurements against a real Kratos")
		kratosBin  = flag.String("kratos-bin", "", "Kratos binary (default: $"+kratos.KratosBinaryEnv+" or <repo>/.cache/bin/kratos)")
		oathBin    = flag.String("oathkeeper-bin", "", "Ory Oathkeeper binary of the peer rows (default: $"+bench.OathkeeperBinaryEnv+" or <repo>/.cache/bin/oathkeeper)")
		skipKeto   = flag.Bool("skip-keto", false, "skip the permission-check rows against a real Keto")
		ketoBin    = flag.String("keto-bin", "", "Keto binary (default: $"+kratos.KetoBinaryEnv+" or <repo>/.cache/bin/keto)")
		quick      = flag.Bool("quick", false, "tiny durations: checks that everything runs, figures are meaningless")
		failMissed = flag.Bool("fail-missed", false, "exit 1 when a target is missed (measurement errors always exit 1)")
		baseline   = flag.String("baseline", "", "also run BenchmarkHit of this git revision (built in a temporary worktree) side by side, for before/after ratios and a benchstat table")
		benchstat  = flag.String("benchstat", envOr("ORYGUARD_BENCHSTAT", "benchstat"), "benchstat binary for -baseline's table (make bench builds the pinned one)")
		only       = flag.String("only", "", "comma-separated sections to run: core, adapters, kratos (with the fleet and permission rows), collapse, memory, users (Oathkeeper, active user); empty runs all")
		frameworks = flag.String("frameworks", strings.Join(bench.Adapters, ","), "comma-separated adapters of section 2")
		loadRounds = flag.Int("load-rounds", 0, "interleaved rounds per load comparison (0: the default, 9)")
		loadTime   = flag.Duration("load-time", 0, "length of one load run (0: the default, 1s)")
	)
	flag.Parse()
	if *only == "" {
		*only = strings.Join(sectionNames, ",")
	}
	chosen, err := parseList("-only", *only, sectionNames)
	if err != nil {
		return 2, err
	}
	sections := map[string]bool{}
	for _, s := range chosen {
		sections[s] = true
	}
	fws, err := parseList("-frameworks", *frameworks, bench.Adapters)
	if err != nil {
		return 2, err
	}

	loader, err := bench.NewLoader(*load, *conns, *threads)
	if err != nil {
		return 2, err
	}
	cfg := bench.Full(loader)
	if *quick {
		cfg.BenchTime, cfg.MicroRounds = 20*time.Millisecond, 1
		cfg.LoadTime, cfg.KratosLoadTime, cfg.LoadRounds, cfg.Warmup = time.Second, time.Second, 1, 0
		cfg.MaxEntries, cfg.Flood, cfg.Collapse = 500, 2, 20
		cfg.UserTime = 3 * time.Second
	}
	if *loadRounds > 0 {
		cfg.LoadRounds = *loadRounds
	}
	if *loadTime > 0 {
		cfg.LoadTime = *loadTime
	}
	cfg.Log = os.Stderr
	if err := bench.SetBenchTime(cfg.BenchTime); err != nil {
		return 2, err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	idle, idleOK := bench.CPUIdle(2 * time.Second)
	began, loadBefore := time.Now(), bench.LoadAvg()

	var rows []bench.Row
	var stat string
	if sections["core"] {
		var r []bench.Row
		r, stat = coreRows(ctx, cfg, *baseline, *benchstat)
		rows = append(rows, r...)
	}
	for _, fw := range fws {
		if sections["adapters"] && ctx.Err() == nil {
			rows = append(rows, bench.AdapterThroughput(ctx, cfg, fw))
		}
	}
	if (sections["kratos"] || sections["users"]) && !*skipKratos && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "bench: starting Kratos")
		srv, err := kratos.StartKratos(ctx, kratos.KratosOptions{Binary: *kratosBin, LogLevel: "error", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			rows = append(rows, bench.Row{Section: "3 kratos", Figure: "start Kratos", Value: "error: " + err.Error(), Verdict: bench.Failed})
		} else {
			if sections["kratos"] {
				rows = append(rows, bench.Kratos(ctx, cfg, srv)...)
			}
			if sections["kratos"] && ctx.Err() == nil {
				rows = append(rows, bench.Fleet(ctx, cfg, srv)...)
			}
			if sections["kratos"] && !*skipKeto && ctx.Err() == nil {
				rows = append(rows, ketoRows(ctx, cfg, srv, *ketoBin)...)
			}
			if sections["users"] && ctx.Err() == nil {
				rows = append(rows, bench.Users(ctx, cfg, srv, *oathBin)...)
			}
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "bench: stop kratos:", err)
			}
		}
	}
	if sections["collapse"] && ctx.Err() == nil {
		rows = append(rows, bench.CollapseFake(ctx, cfg))
	}
	if sections["memory"] && ctx.Err() == nil {
		rows = append(rows, bench.Memory(ctx, cfg)...)
	}
	// The Kratos run adds rows to sections 1 and 4 too.
	slices.SortStableFunc(rows, func(a, b bench.Row) int { return strings.Compare(a.Section, b.Section) })

	out := os.Stdout
	header(out, loader, *quick, began, loadBefore, idle, idleOK)
	if err := bench.WriteTable(out, rows); err != nil {
		return 1, err
	}
	if stat != "" {
		fmt.Fprintf(out, "\nbenchstat, BenchmarkHit at %s (old) and this checkout (new), one sample per round:\n\n%s", *baseline, stat)
	}
	n := bench.Count(rows)
	fmt.Fprintf(out, "\ntargets met: %d, missed: %d, measurement errors: %d\n", n[bench.Met], n[bench.Missed], n[bench.Failed])
	switch {
	case ctx.Err() != nil:
		return 1, ctx.Err()
	case n[bench.Failed] > 0:
		return 1, nil
	case *failMissed && n[bench.Missed] > 0:
		return 1, nil
	}
	return 0, nil
}

// ketoRows starts Keto and measures the permission-check rows against it
// and srv.
func ketoRows(ctx context.Context, cfg bench.Config, srv *kratos.Kratos, bin string) []bench.Row {
	fmt.Fprintln(os.Stderr, "bench: starting Keto")
	k, err := kratos.StartKeto(ctx, kratos.KetoOptions{Binary: bin, LogLevel: "error", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return []bench.Row{{Section: "3 kratos", Figure: "start Keto", Value: "error: " + err.Error(), Verdict: bench.Failed}}
	}
	defer func() {
		if err := k.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stop keto:", err)
		}
	}()
	return bench.Permissions(ctx, cfg, srv, k)
}

// sectionNames are the sections -only chooses from.
var sectionNames = []string{"core", "adapters", "kratos", "collapse", "memory", "users"}

// parseList reads a comma-separated flag whose every item must be one of
// allowed.
func parseList(name, list string, allowed []string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if !slices.Contains(allowed, item) {
			return nil, fmt.Errorf("%s: unknown %q (one of: %s)", name, item, strings.Join(allowed, ", "))
		}
		out = append(out, item)
	}
	return out, nil
}

// coreRows are section 1: the micro-benchmarks, oryotel's cost, the
// in-process rows and, given a baseline revision, its before/after rows and
// benchstat's table of the same runs.
func coreRows(ctx context.Context, cfg bench.Config, baseline, benchstat string) ([]bench.Row, string) {
	rows := bench.Micro(ctx, cfg)
	rows = append(rows, bench.Telemetry(ctx, cfg)...)
	if ctx.Err() == nil {
		rows = append(rows, bench.InProcess(ctx, cfg)...)
	}
	if baseline == "" || ctx.Err() != nil {
		return rows, ""
	}
	b, err := bench.BuildBaseline(ctx, baseline, os.Stderr)
	if err != nil {
		return append(rows, bench.Row{Section: "1 core", Figure: "before/after against " + baseline, Value: "error: " + err.Error(), Verdict: bench.Failed}), ""
	}
	defer b.Close()
	rows = append(rows, b.Compare(ctx, cfg)...)
	stat, err := b.Benchstat(ctx, benchstat)
	if err != nil {
		stat = fmt.Sprintf("(no benchstat table: %v)\n", err)
	}
	return rows, stat
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func header(w io.Writer, l bench.Loader, quick bool, began time.Time, loadBefore string, idle float64, idleOK bool) {
	fmt.Fprintf(w, "\noryguard benchmarks%s\n", map[bool]string{true: " (-quick: figures are meaningless)"}[quick])
	fmt.Fprintf(w, "machine: %d CPUs (%s), GOMAXPROCS %d, %s %s/%s\n", runtime.NumCPU(), bench.CPUModel(),
		runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "load generator: %s\n", l.Name())
	if idleOK {
		fmt.Fprintf(w, "CPU idle in the 2 s before the run: %.0f%%\n", 100*idle)
	}
	fmt.Fprintf(w, "load average: %s before, %s after; took %s\n", loadBefore, bench.LoadAvg(), time.Since(began).Round(time.Second))
	if idleOK && idle < 0.9 {
		fmt.Fprintln(w, "warning: other work was running before the run: absolute figures are noisy; the ratios compare side-by-side runs")
	}
	fmt.Fprintln(w)
}
