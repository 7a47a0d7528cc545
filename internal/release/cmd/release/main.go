// Command release makes an oryguard release: make release VERSION=vX.Y.Z
// runs it. See release.Release for the steps and refusals.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/oryguard/oryguard/internal/release"
)

func main() {
	version := flag.String("version", "", "version to release, such as v0.2.0")
	check := flag.String("check", "make release-check", "command that must pass before the commit (split on spaces)")
	remote := flag.String("remote", "origin", "remote named in the printed push command")
	flag.Parse()
	if err := run(*version, *check, *remote); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(version, check, remote string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := release.FindRoot(".")
	if err != nil {
		return err
	}
	return release.Release(ctx, release.Options{Root: root, Version: version, Check: strings.Fields(check), Remote: remote, Out: os.Stdout})
}
