// Command kratosdev runs the test Kratos on fixed ports for the demo: an app
// at the -ui URL serves the login (/login), registration (/registration),
// error (/error) and settings (/settings) pages. It prints the public and
// admin URLs and runs until SIGINT or SIGTERM, then stops Kratos.
//
//	go run ./cmd/kratosdev -public 4433 -admin 4434 -ui http://127.0.0.1:4455 -return http://127.0.0.1:4455/
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

func main() {
	if err := run(); err != nil {
		slog.Error("kratosdev", "error", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		opts    harness.KratosOptions
		allowed string
		quiet   bool
	)
	flag.IntVar(&opts.PublicPort, "public", 4433, "port of Kratos' public API on 127.0.0.1")
	flag.IntVar(&opts.AdminPort, "admin", 4434, "port of Kratos' admin API on 127.0.0.1")
	flag.StringVar(&opts.UIURL, "ui", "http://127.0.0.1:4455", "base URL of the login, registration, error and settings pages")
	flag.StringVar(&opts.DefaultReturnURL, "return", "http://127.0.0.1:4455/", "default browser return URL")
	flag.StringVar(&allowed, "allowed", "", "comma-separated allowed return URLs (default: the -ui URL)")
	flag.BoolVar(&opts.Persistent, "persistent", false, "keep data in a SQLite file instead of memory (lost on exit either way)")
	flag.StringVar(&opts.Binary, "bin", "", "Kratos binary (default: $"+harness.KratosBinaryEnv+" or <repo>/.cache/bin/kratos)")
	flag.BoolVar(&quiet, "quiet", false, "do not copy Kratos' log to stderr")
	flag.Parse()
	if allowed != "" {
		opts.AllowedReturnURLs = strings.Split(allowed, ",")
	}
	opts.LogWriter = os.Stderr
	if quiet {
		opts.LogWriter = io.Discard
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := harness.StartKratos(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf("KRATOS_PUBLIC_URL=%s\nKRATOS_ADMIN_URL=%s\n", srv.PublicURL(), srv.AdminURL())
	select {
	case <-ctx.Done():
		slog.Info("stopping kratos")
		return srv.Stop()
	case <-srv.Exited():
		_ = srv.Stop()
		return fmt.Errorf("kratos exited unexpectedly; log tail:\n%s", srv.LogTail())
	}
}
