package release

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// APIOptions configures APICheck.
type APIOptions struct {
	// Root is the repository root.
	Root string
	// Base is the git ref to compare with. Empty: each module's previous
	// release tag (the highest <dir>/vX.Y.Z up to Version), or HEAD for a
	// module that has none.
	Base string
	// Version is the version the working tree is to be released as; it
	// decides whether a breaking change is allowed. Empty: core.Version.
	Version string
	// APIDiff is the apidiff binary (golang.org/x/exp/cmd/apidiff).
	APIDiff string
	// Allow lists intended breaking changes (see AllowFile). They are
	// accepted when a module is compared against Allow.Base, and then each
	// must match a reported change. Nil: none.
	Allow *AllowList
	// Out receives the report.
	Out io.Writer
}

// APICheck compares the exported API of each library module in the working
// tree with the base (see APIOptions.Base) using apidiff, reports every
// change, and fails when a change is incompatible and Version does not
// allow it: semantic versioning allows breaking changes only in a new major
// version, or before v1 in a new minor version, counted from a release tag.
// Against a ref that is not a release tag, every breaking change fails,
// except those listed in o.Allow when the ref is the allow-list's base;
// an entry that matches no reported change fails too.
func APICheck(ctx context.Context, o APIOptions) error {
	version := o.Version
	if version == "" {
		v, err := ReadVersion(o.Root)
		if err != nil {
			return err
		}
		version = v
	}
	if err := CheckVersion(version); err != nil {
		return err
	}
	mods, err := Modules(o.Root)
	if err != nil {
		return err
	}
	tags, err := Tags(ctx, o.Root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "oryguard-apicheck-")
	if err != nil {
		return fmt.Errorf("apicheck: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	allow, err := newAllowance(ctx, o.Root, o.Allow)
	if err != nil {
		return err
	}
	allowUsed := false // some module was compared against allow's base

	trees := map[string]string{}   // ref -> extracted tree
	commits := map[string]string{} // ref -> commit
	var broken []string
	for i, m := range Libraries(mods) {
		ref, baseVersion := o.Base, ""
		if ref == "" {
			baseVersion = previousRelease(tags, m.Dir, version)
			if baseVersion != "" {
				ref = m.Tag(baseVersion)
			} else {
				ref = "HEAD"
				fmt.Fprintf(o.Out, "== %s: no previous release tag (%s/v*): comparing with BASE=HEAD\n", m.Dir, m.Dir)
			}
		} else if v, ok := strings.CutPrefix(ref, m.Dir+"/"); ok && semver.IsValid(v) {
			baseVersion = v
		}
		tree, ok := trees[ref]
		if !ok {
			tree = filepath.Join(tmp, fmt.Sprintf("base%d", len(trees)))
			if err := extractTree(ctx, o.Root, ref, tree); err != nil {
				return fmt.Errorf("apicheck %s: %w", m.Dir, err)
			}
			trees[ref] = tree
		}
		fmt.Fprintf(o.Out, "== %s %s against %s\n", m.Dir, version, ref)
		oldDir := filepath.Join(tree, filepath.FromSlash(m.Dir))
		oldMod, err := os.ReadFile(filepath.Join(oldDir, "go.mod"))
		if err != nil {
			fmt.Fprintf(o.Out, "new module since %s: nothing to compare\n", ref)
			continue
		}
		export := filepath.Join(tmp, fmt.Sprintf("mod%d.export", i))
		if _, err := apidiff(ctx, o.APIDiff, oldDir, "-m", "-w", export, modfile.ModulePath(oldMod)); err != nil {
			return fmt.Errorf("apicheck %s at %s: %w", m.Dir, ref, err)
		}
		report, err := apidiff(ctx, o.APIDiff, filepath.Join(o.Root, filepath.FromSlash(m.Dir)), "-m", export, m.Path)
		if err != nil {
			fmt.Fprintf(o.Out, "%s does not build: %v\n", m.Dir, err)
			broken = append(broken, m.Dir)
			continue
		}
		incompatible, compatible := parseReport(report, m.Dir == "core")
		if allow != nil {
			c, ok := commits[ref]
			if !ok {
				if c, err = resolveCommit(ctx, o.Root, ref); err != nil {
					return fmt.Errorf("apicheck %s: %w", m.Dir, err)
				}
				commits[ref] = c
			}
			if c == allow.baseCommit {
				allowUsed = true
				incompatible = slices.DeleteFunc(incompatible, func(change string) bool {
					if allow.allowed(m.Dir, change) {
						fmt.Fprintf(o.Out, "allowed:      %s\n", change)
						return true
					}
					return false
				})
			}
		}
		for _, c := range incompatible {
			fmt.Fprintf(o.Out, "incompatible: %s\n", c)
		}
		for _, c := range compatible {
			fmt.Fprintf(o.Out, "compatible:   %s\n", c)
		}
		switch {
		case len(incompatible) == 0 && len(compatible) == 0:
			fmt.Fprintln(o.Out, "no API change")
		case len(incompatible) == 0:
		case breakingAllowed(baseVersion, version):
			fmt.Fprintf(o.Out, "breaking changes allowed: %s -> %s\n", baseVersion, version)
		default:
			broken = append(broken, m.Dir)
		}
	}
	var stale []string
	switch {
	case allow == nil:
	case allowUsed:
		for _, e := range allow.stale() {
			stale = append(stale, fmt.Sprintf("%s:%d: %s", AllowFile, e.Line, e))
		}
	case len(o.Allow.Entries) > 0:
		fmt.Fprintf(o.Out, "apicheck: the allow-list's %d entries are for base %s, not applied\n", len(o.Allow.Entries), o.Allow.Base)
	}
	for _, s := range stale {
		fmt.Fprintf(o.Out, "stale allow-list entry (no such incompatible change): %s\n", s)
	}
	switch {
	case len(broken) > 0 && len(stale) > 0:
		return fmt.Errorf("apicheck: breaking API changes in %s, and %d stale allow-list entries", strings.Join(broken, ", "), len(stale))
	case len(stale) > 0:
		return fmt.Errorf("apicheck: %d allow-list entries match no incompatible change against %s: remove them from %s", len(stale), o.Allow.Base, AllowFile)
	}
	if len(broken) > 0 {
		return fmt.Errorf("apicheck: breaking API changes in %s for %s: revert them, or release a new major version (before v1: a new minor version) after a release tag", strings.Join(broken, ", "), version)
	}
	fmt.Fprintln(o.Out, "apicheck: ok")
	return nil
}

// previousRelease is the highest version up to version that dir is tagged
// with, or "": while releasing, the one before (the new tag does not exist
// yet); between releases, the last one, so that make apicheck reports
// every breaking change since.
func previousRelease(tags []string, dir, version string) string {
	best := ""
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, dir+"/")
		if !ok || CheckVersion(v) != nil || semver.Compare(v, version) > 0 {
			continue
		}
		if best == "" || semver.Compare(v, best) > 0 {
			best = v
		}
	}
	return best
}

func breakingAllowed(base, next string) bool {
	if base == "" {
		return false
	}
	if semver.Major(next) != semver.Major(base) {
		return semver.Compare(next, base) > 0
	}
	return semver.Major(base) == "v0" && semver.MajorMinor(next) != semver.MajorMinor(base) && semver.Compare(next, base) > 0
}

// versionChange is the one incompatible change a release itself makes:
// core.Version gets a new value.
var versionChange = regexp.MustCompile(`(^|[./])Version: value changed from "v[^"]*" to "v[^"]*"$`)

// parseReport splits apidiff's text report into its incompatible and
// compatible changes.
func parseReport(report string, core bool) (incompatible, compatible []string) {
	var cur *[]string
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Incompatible changes:":
			cur = &incompatible
		case line == "Compatible changes:":
			cur = &compatible
		case strings.HasPrefix(line, "- ") && cur != nil:
			c := strings.TrimPrefix(line, "- ")
			if core && cur == &incompatible && versionChange.MatchString(c) {
				continue
			}
			*cur = append(*cur, c)
		}
	}
	return incompatible, compatible
}

func apidiff(ctx context.Context, bin, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("apidiff %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
