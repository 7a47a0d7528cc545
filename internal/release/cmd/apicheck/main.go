// Command apicheck compares each library module's exported API with its
// last release tag (or -base) and fails on a breaking change that the
// version does not allow, unless the allow-list (-allow, by default
// internal/release/apicheck-allow.txt) names it and the comparison is
// against the list's base. make apicheck runs it.
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
	allow := flag.String("allow", "", "allow-list of intended breaking changes (default: <root>/"+release.AllowFile+")")
	flag.Parse()
	if err := run(*base, *version, *bin, *allow); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(base, version, bin, allowFile string) error {
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
	if allowFile == "" {
		allowFile = filepath.Join(root, filepath.FromSlash(release.AllowFile))
	}
	allow, err := release.ReadAllowList(allowFile)
	if err != nil {
		return err
	}
	return release.APICheck(ctx, release.APIOptions{Root: root, Base: base, Version: version, APIDiff: bin, Allow: allow, Out: os.Stdout})
}
