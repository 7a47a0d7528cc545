// Command apicheck compares each library module's exported API with its
// previous release (or -base) and fails on a breaking change that the
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
	base := flag.String("base", "", "git ref to compare with (default: each module's previous release tag, else HEAD)")
	version := flag.String("version", "", "version the tree is to be released as (default: core.Version)")
	bin := flag.String("apidiff", "apidiff", "apidiff binary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := release.FindRoot(".")
	if err == nil && strings.ContainsRune(*bin, filepath.Separator) {
		*bin, err = filepath.Abs(*bin)
	}
	if err == nil {
		err = release.APICheck(ctx, release.APIOptions{Root: root, Base: *base, Version: *version, APIDiff: *bin, Out: os.Stdout})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
