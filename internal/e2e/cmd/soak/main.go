// Command soak runs oryguard's soak against a real Kratos and prints its
// figures: sustained concurrent load through an app protected by the guard
// with the session cache on, while sessions are created, used, revoked and
// expire. It exits 1 if any answer was wrong or goroutines or heap grew.
//
//	make kratos
//	go run ./cmd/soak -duration 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/oryguard/oryguard/internal/e2e/reliability/soak"
)

func main() { os.Exit(run()) }

// run is main with an exit status, so that deferred closes run.
func run() int {
	var cfg soak.Config
	flag.DurationVar(&cfg.Duration, "duration", 60_000_000_000, "how long the load runs")
	flag.IntVar(&cfg.Workers, "workers", 8, "concurrent clients")
	flag.DurationVar(&cfg.CacheTTL, "ttl", 1_000_000_000, "the guard's cache TTL")
	flag.DurationVar(&cfg.SessionLifespan, "lifespan", 0, "Kratos' session lifespan (default: a third of -duration, at least 4s)")
	flag.IntVar(&cfg.Sessions, "sessions", 24, "sessions created before the load starts")
	flag.DurationVar(&cfg.CreateEvery, "create-every", 200_000_000, "create a session this often during the load")
	flag.DurationVar(&cfg.RevokeEvery, "revoke-every", 400_000_000, "revoke a session this often during the load")
	flag.StringVar(&cfg.KratosBinary, "kratos", "", "Kratos binary (default: $ORYGUARD_KRATOS_BIN or <repo>/.cache/bin/kratos)")
	kratosLog := flag.String("kratos-log", "", "write Kratos' warnings and errors to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile, taken with the end figures, to this file")
	flag.Parse()
	cfg.Progress = os.Stderr
	if *kratosLog != "" {
		f, err := os.Create(*kratosLog)
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
		defer f.Close()
		cfg.KratosLog = f
	}

	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
		defer f.Close()
		cfg.HeapProfile = f
		runtime.MemProfileRate = 4 << 10 // fine enough to see a few KiB per session
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := soak.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	r.Print(os.Stdout)
	if problems := r.Problems(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Println("FAIL:", p)
		}
		return 1
	}
	fmt.Println("PASS")
	return 0
}
