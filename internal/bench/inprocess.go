package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Targets of the in-process hit path: core's Authenticate on a
// real-size Kratos cookie, and what each adapter's middleware adds to one
// request (the guarded route minus the same route without the guard).
const (
	coreHitMaxNs = 500
)

// inprocAdapter is one adapter of the in-process rows: its case name in
// HitCases, its label and its targets. An RPC interceptor's row (rpc) is
// about one unary call rather than a route, and also gives the guarded
// call's ratio to the unguarded method.
type inprocAdapter struct {
	name, label string
	maxNs       float64
	maxAllocs   float64
	rpc         bool
}

var inprocAdapters = []inprocAdapter{
	{"nethttp", "net/http", 700, 2, false},
	{"gin", "gin", 700, 1, false},
	{"echo", "echo", 700, 1, false},
	{"echov5", "echov5", 700, 1, false},
	{"fiber", "fiber", 600, 1, false},
	{"fiberv3", "fiberv3", 600, 1, false},
	{"grpc", "orygrpc unary", 700, 6, true},
	{"connect", "oryconnect unary", 700, 2, true},
}

// inprocCase returns HitCases' benchmark named name.
func inprocCase(name string) benchFunc {
	for _, c := range HitCases() {
		if c.Name == name {
			return c.F
		}
	}
	return func(*testing.B) error { return fmt.Errorf("no in-process benchmark %q", name) }
}

// InProcess runs the in-process rows of section 1: core's Authenticate on
// a cache hit with a 428-byte Kratos cookie among four app cookies, and
// for each adapter one guarded request next to the same request without
// the guard, interleaved, through the framework's own ServeHTTP (Fiber:
// its fasthttp handler) with no network.
func InProcess(ctx context.Context, cfg Config) []Row {
	const sec = "1 core"
	var rows []Row
	cfg.logf("in-process hit path: %d rounds of %v (core, then each adapter guarded and open)", cfg.MicroRounds, cfg.BenchTime)
	nsOps, allocs, err := interleave(cfg.MicroRounds, inprocCase("core"))
	if err != nil {
		return append(rows, failed(sec, "in-process core hit", err))
	}
	n := median(nsOps[0])
	rows = append(rows, Row{sec, "core Authenticate, cache hit, 428-byte Kratos cookie among 4 app cookies",
		fmt.Sprintf("%s/op, %.0f allocs/op (rounds %s)", ns(n), median(allocs[0]), spread(nsOps[0], ns)),
		fmt.Sprintf("<= %d ns", coreHitMaxNs), check(n <= coreHitMaxNs && median(allocs[0]) <= hitMaxAllocs)})
	for _, ad := range inprocAdapters {
		if ctx.Err() != nil {
			return rows
		}
		figure := ad.label + ": what the middleware adds to one request, cache hit, in-process (guarded minus open route)"
		if ad.rpc {
			figure = ad.label + ": what the interceptor adds to one call of Health/Check with a session token, cache hit, in-process (guarded minus unguarded method)"
		}
		nsOps, allocs, err := interleave(cfg.MicroRounds, inprocCase(ad.name), inprocCase(ad.name+"-open"))
		if err != nil {
			rows = append(rows, failed(sec, figure, err))
			continue
		}
		cost := median(diffs(nsOps[0], nsOps[1]))
		a := median(allocs[0]) - median(allocs[1])
		ratio := ""
		if ad.rpc {
			ratio = fmt.Sprintf(", %.2f× the unguarded method", median(ratios(nsOps[0], nsOps[1])))
		}
		rows = append(rows, Row{sec, figure,
			fmt.Sprintf("%s/op, %.0f allocs/op (guarded %s, open %s%s)", ns(cost), a, ns(median(nsOps[0])), ns(median(nsOps[1])), ratio),
			fmt.Sprintf("<= %.0f ns, <= %.0f allocs", ad.maxNs, ad.maxAllocs),
			check(cost <= ad.maxNs && a <= ad.maxAllocs)})
	}
	return rows
}

// ratios returns a[i] / b[i] for each round (rounds with b[i] = 0 are left
// out).
func ratios(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// diffs returns a[i] - b[i] for each round.
func diffs(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] - b[i]
	}
	return out
}

// Baseline is the in-process benchmarks (BenchmarkHit) built twice: from
// this checkout and from an older revision, each from its own source (a
// temporary git worktree of the revision), so that one run measures before
// and after side by side. At revisions where BenchmarkHit lived in more than
// one package (./inproc and ./inprocmajors), each is built; a case the old
// revision lacks gets no before/after row.
type Baseline struct {
	Ref      string
	new, old []string // test binaries
	dir      string
	// raw holds the benchmark lines of every run, old then new, for
	// benchstat.
	raw     [2]strings.Builder
	cleanup func()
}

// Close removes the worktree and the binaries.
func (b *Baseline) Close() { b.cleanup() }

// BuildBaseline builds the test binaries of both revisions; ref is any git
// revision.
func BuildBaseline(ctx context.Context, ref string, log io.Writer) (*Baseline, error) {
	here, err := os.Getwd() // internal/bench (make bench and go run run here)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "git", "-C", here, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return nil, fmt.Errorf("baseline: find the repository: %w", err)
	}
	root := strings.TrimSpace(string(out))
	tmp, err := os.MkdirTemp("", "oryguard-baseline-")
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(tmp, "tree")
	b := &Baseline{Ref: ref, dir: tmp}
	b.cleanup = func() {
		_ = exec.CommandContext(context.WithoutCancel(ctx), "git", "-C", root, "worktree", "remove", "--force", tree).Run()
		_ = os.RemoveAll(tmp)
	}
	fail := func(err error) (*Baseline, error) {
		b.cleanup()
		return nil, err
	}
	fmt.Fprintf(log, "bench: baseline: worktree of %s, building BenchmarkHit at both revisions\n", ref)
	if _, err := runIn(ctx, root, "git", "worktree", "add", "--detach", tree, ref); err != nil {
		return fail(err)
	}
	for i, dir := range []string{filepath.Join(tree, "internal/bench"), filepath.Join(root, "internal/bench")} {
		bins, err := buildHitBinaries(ctx, dir, filepath.Join(tmp, []string{"old", "new"}[i]))
		if err != nil {
			return fail(err)
		}
		if i == 0 {
			b.old = bins
		} else {
			b.new = bins
		}
	}
	return b, nil
}

// buildHitBinaries builds the test binary of every package under dir that
// has a BenchmarkHit, named <prefix>-<n>.test.
func buildHitBinaries(ctx context.Context, dir, prefix string) ([]string, error) {
	list, err := runIn(ctx, dir, "go", "test", "-list", "^BenchmarkHit$", "./...")
	if err != nil {
		return nil, err
	}
	var bins []string
	found := false
	for line := range strings.Lines(list) {
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "BenchmarkHit":
			found = true
		case len(f) >= 2 && f[0] == "ok" && found:
			found = false
			bin := fmt.Sprintf("%s-%d.test", prefix, len(bins))
			if _, err := runIn(ctx, dir, "go", "test", "-c", "-o", bin, f[1]); err != nil {
				return nil, err
			}
			bins = append(bins, bin)
		}
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("baseline: no package under %s has a BenchmarkHit", dir)
	}
	return bins, nil
}

// runIn runs a command in dir and returns its standard output.
func runIn(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("baseline: %s: %w: %s", strings.Join(args, " "), err, oneLine(stderr.String()))
	}
	return string(out), nil
}

// errNoCase is a build without the benchmark case.
var errNoCase = errors.New("no such benchmark at this revision")

// runBuild runs one case of BenchmarkHit once on the binaries of one build
// (0 old, 1 new) and returns its ns/op and allocs/op; its output line is
// kept for benchstat.
func (b *Baseline) runBuild(ctx context.Context, build int, name string, cfg Config) (nsOp, allocsOp float64, err error) {
	for _, bin := range [2][]string{b.old, b.new}[build] {
		out, err := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^BenchmarkHit$/^"+name+"$",
			"-test.benchtime", cfg.BenchTime.String(), "-test.benchmem", "-test.count", "1").Output()
		if err != nil {
			return 0, 0, fmt.Errorf("%s %s: %w", filepath.Base(bin), name, err)
		}
		line, ok := benchLine(string(out))
		if !ok {
			continue
		}
		nsOp, allocsOp, err = parseBenchLine(line)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %s: %w", filepath.Base(bin), name, err)
		}
		b.raw[build].WriteString(line + "\n")
		return nsOp, allocsOp, nil
	}
	return 0, 0, errNoCase
}

// benchLine is the first benchmark result line of go test -bench output.
func benchLine(out string) (string, bool) {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark") {
			return strings.TrimRight(line, "\n"), true
		}
	}
	return "", false
}

// Benchstat compares every run of both builds with benchstat (bin) and
// returns its table; the inputs stay in old.txt and new.txt of the
// baseline's directory until Close.
func (b *Baseline) Benchstat(ctx context.Context, bin string) (string, error) {
	if strings.ContainsRune(bin, filepath.Separator) {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", fmt.Errorf("benchstat: %w", err)
		}
		bin = abs
	}
	var files []string
	for i, name := range []string{"old", "new"} {
		p := filepath.Join(b.dir, name+".txt")
		if err := os.WriteFile(p, []byte(b.raw[i].String()), 0o644); err != nil {
			return "", fmt.Errorf("benchstat input: %w", err)
		}
		files = append(files, name+"="+p)
	}
	out, err := runIn(ctx, b.dir, append([]string{bin}, files...)...)
	if err != nil {
		return "", err
	}
	return out, nil
}

// parseBenchLine reads ns/op and allocs/op from go test -bench output.
func parseBenchLine(out string) (nsOp, allocsOp float64, err error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		nsOp, allocsOp = -1, -1
		for i := 1; i+1 < len(f); i++ {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				nsOp = v
			case "allocs/op":
				allocsOp = v
			}
		}
		if nsOp >= 0 && allocsOp >= 0 {
			return nsOp, allocsOp, nil
		}
	}
	return 0, 0, errors.New("no benchmark line with ns/op and allocs/op")
}

// Compare runs each in-process benchmark on both builds, interleaved
// (old, new, new, old, ...; for an adapter its guarded and open routes in
// the same rounds), and gives one row per figure: the new cost over the
// old, median of the per-round ratios.
func (b *Baseline) Compare(ctx context.Context, cfg Config) []Row {
	const sec = "1 core"
	var rows []Row
	cfg.logf("before/after against %s: %d rounds of %v per build and benchmark", b.Ref, cfg.MicroRounds, cfg.BenchTime)
	// measure returns ns/op and allocs/op per round, indexed [build][name]
	// with build 0 the old one.
	measure := func(names ...string) (nsOps, allocs [2][][]float64, err error) {
		for i := range nsOps {
			nsOps[i], allocs[i] = make([][]float64, len(names)), make([][]float64, len(names))
		}
		for round := range max(1, cfg.MicroRounds) {
			for _, bi := range order(2, round) {
				for ni, name := range names {
					n, a, err := b.runBuild(ctx, bi, name, cfg)
					if err != nil {
						return nsOps, allocs, err
					}
					nsOps[bi][ni] = append(nsOps[bi][ni], n)
					allocs[bi][ni] = append(allocs[bi][ni], a)
				}
			}
		}
		return nsOps, allocs, nil
	}
	for _, ad := range append([]inprocAdapter{{name: "core"}}, inprocAdapters...) {
		if ctx.Err() != nil {
			break
		}
		fw := ad.name
		what := ad.label + ": guarded request, cache hit, in-process"
		names := []string{fw, fw + "-open"}
		if fw == "core" {
			what, names = "core Authenticate hit, 428-byte cookie", names[:1]
		}
		figure := "before/after (" + b.Ref + " -> this checkout), new/old: " + what
		nsOps, allocs, err := measure(names...)
		if errors.Is(err, errNoCase) {
			cfg.logf("before/after: %s has no %s benchmark; no row", b.Ref, ad.name)
			continue
		}
		if err != nil {
			rows = append(rows, failed(sec, figure, err))
			continue
		}
		old, cur := nsOps[0][0], nsOps[1][0]
		detail := fmt.Sprintf("medians %s vs %s; %.0f vs %.0f allocs/op", ns(median(cur)), ns(median(old)), median(allocs[1][0]), median(allocs[0][0]))
		if fw != "core" {
			costNew, costOld := diffs(cur, nsOps[1][1]), diffs(old, nsOps[0][1])
			detail += fmt.Sprintf("; the middleware's own cost (minus the open route) %s vs %s: ratio %.3f",
				ns(median(costNew)), ns(median(costOld)), pairRatio(costNew, costOld))
		}
		rows = append(rows, Row{sec, figure, fmt.Sprintf("%.3f (%s)", pairRatio(cur, old), detail), "", Info})
	}
	return rows
}
