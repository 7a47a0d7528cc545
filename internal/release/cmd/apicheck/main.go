// Command apicheck compares each library module's exported API with its
// last release tag (or -base) and fails on a breaking change that the
// version does not allow. make apicheck runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/oryguard/oryguard/internal/release"
)

func main() {
	base := flag.String("base", "", "git ref to compare with (default: each module's last release tag, else HEAD)")
	version := flag.String("version", "", "version the tree is to be released as (default: core.Version)")
	bin := flag.String("apidiff", "apidiff", "apidiff binary")
	flag.Parse()
	if err := run(*base, *version, *bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(base, version, bin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := release.FindRoot(".")
	if err != nil {
		return err
	}
	if strings.ContainsRune(bin, filepath.Separator) {
		if bin, err = filepath.Abs(bin); err != nil {
			return fmt.Errorf("apidiff path: %w", err)
		}
	}
	return release.APICheck(ctx, release.APIOptions{Root: root, Base: base, Version: version, APIDiff: bin, Out: os.Stdout})
}
