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

	"github.com/oryguard/oryguard/internal/bench/inproc"
	"github.com/oryguard/oryguard/internal/bench/inprocmajors"
)

// Targets of the in-process hit path (issue 15): core's Authenticate on a
// real-size Kratos cookie, and what each adapter's middleware adds to one
// request (the guarded route minus the same route without the guard).
const (
	coreHitMaxNs = 500
)

// inprocAdapter is one adapter of the in-process rows: its case name in
// packages inproc and inprocmajors, its label, its targets, and whether a
// baseline build (package inproc at an older commit) has it.
type inprocAdapter struct {
	name, label string
	maxNs       float64
	maxAllocs   float64
	baseline    bool
}

var inprocAdapters = []inprocAdapter{
	{"nethttp", "net/http", 700, 2, true},
	{"gin", "gin", 700, 1, true},
	{"echo", "echo", 700, 1, true},
	{"echov5", "echov5", 700, 1, false},
	{"fiber", "fiber", 600, 1, true},
	{"fiberv3", "fiberv3", 600, 1, false},
}

// inprocCase returns package inproc's (or inprocmajors') benchmark named
// name.
func inprocCase(name string) benchFunc {
	for _, c := range append(inproc.Cases(), inprocmajors.Cases()...) {
		if c.Name == name {
			return func(b *testing.B) error { c.F(b); return nil }
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
		nsOps, allocs, err := interleave(cfg.MicroRounds, inprocCase(ad.name), inprocCase(ad.name+"-open"))
		if err != nil {
			rows = append(rows, failed(sec, figure, err))
			continue
		}
		cost := median(diffs(nsOps[0], nsOps[1]))
		a := median(allocs[0]) - median(allocs[1])
		rows = append(rows, Row{sec, figure,
			fmt.Sprintf("%s/op, %.0f allocs/op (guarded %s, open %s)", ns(cost), a, ns(median(nsOps[0])), ns(median(nsOps[1]))),
			fmt.Sprintf("<= %.0f ns, <= %.0f allocs", ad.maxNs, ad.maxAllocs),
			check(cost <= ad.maxNs && a <= ad.maxAllocs)})
	}
	return rows
}

// diffs returns a[i] - b[i] for each round.
func diffs(a, b []float64) []float64 {
	out := make([]float64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] - b[i]
	}
	return out
}

// Baseline is package inproc built twice: from this checkout and from an
// older commit (a temporary git worktree with this checkout's copy of
// package inproc, whose API has not changed since the adapters' first
// release), so that one run measures before and after side by side.
type Baseline struct {
	Ref      string
	new, old string // test binaries
	cleanup  func()
}

// Close removes the worktree and the binaries.
func (b *Baseline) Close() { b.cleanup() }

// BuildBaseline builds the two test binaries; ref is any git revision.
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
	b := &Baseline{Ref: ref, new: filepath.Join(tmp, "new.test"), old: filepath.Join(tmp, "old.test")}
	b.cleanup = func() {
		_ = exec.CommandContext(context.WithoutCancel(ctx), "git", "-C", root, "worktree", "remove", "--force", tree).Run()
		_ = os.RemoveAll(tmp)
	}
	run := func(dir string, args ...string) error {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("baseline: %s: %w: %s", strings.Join(args, " "), err, oneLine(stderr.String()))
		}
		return nil
	}
	fmt.Fprintf(log, "bench: baseline: worktree of %s, building package inproc at both commits\n", ref)
	steps := []func() error{
		func() error { return run(root, "git", "worktree", "add", "--detach", tree, ref) },
		func() error {
			return copyDir(filepath.Join(root, "internal/bench/inproc"), filepath.Join(tree, "internal/bench/inproc"))
		},
		func() error {
			return run(filepath.Join(tree, "internal/bench"), "go", "test", "-c", "-o", b.old, "./inproc")
		},
		func() error {
			return run(filepath.Join(root, "internal/bench"), "go", "test", "-c", "-o", b.new, "./inproc")
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			b.cleanup()
			return nil, err
		}
	}
	return b, nil
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runBinary runs one benchmark of a test binary once and returns its ns/op
// and allocs/op.
func (b *Baseline) runBinary(ctx context.Context, bin, name string, cfg Config) (nsOp, allocsOp float64, err error) {
	out, err := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^BenchmarkHit$/^"+name+"$",
		"-test.benchtime", cfg.BenchTime.String(), "-test.benchmem", "-test.count", "1").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %w", filepath.Base(bin), name, err)
	}
	return parseBenchLine(string(out))
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
					n, a, err := b.runBinary(ctx, []string{b.old, b.new}[bi], name, cfg)
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
	for _, ad := range append([]inprocAdapter{{name: "core", baseline: true}}, inprocAdapters...) {
		if !ad.baseline {
			continue
		}
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
