package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// Options configures Release.
type Options struct {
	// Root is the repository root.
	Root string
	// Version is the version to release, such as v0.2.0.
	Version string
	// Check is the command that must pass on the bumped tree before the
	// commit, run in Root. Empty: make release-check.
	Check []string
	// Remote names the remote in the printed push command. Empty: origin.
	Remote string
	// Out receives progress and the check's output.
	Out io.Writer
}

// Release makes a release in the repository at o.Root: it refuses an
// unclean tree, a version that is not newer than core.Version (the first
// release may equal it while core/<version> is not tagged), a version that
// is already tagged or has no CHANGELOG.md entry; sets core.Version and
// every oryguard requirement of every go.mod to the version, tidies the
// changed modules, runs the check (on failure the tree goes back to HEAD),
// commits, and tags every library module with <dir>/<version>. It pushes
// nothing: it prints the push command.
func Release(ctx context.Context, o Options) error {
	v := o.Version
	if err := CheckVersion(v); err != nil {
		return fmt.Errorf("release: VERSION: %w", err)
	}
	status, err := git(ctx, o.Root, "status", "--porcelain")
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if strings.TrimSpace(status) != "" {
		return fmt.Errorf("release: the working tree is not clean; commit or stash first:\n%s", status)
	}
	cur, err := ReadVersion(o.Root)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	tags, err := Tags(ctx, o.Root)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	switch c := semver.Compare(v, cur); {
	case c < 0:
		return fmt.Errorf("release: %s is older than core.Version %s: pick a newer version", v, cur)
	case c == 0 && slices.Contains(tags, "core/"+cur):
		return fmt.Errorf("release: %s is already released (tag core/%s): pick a newer version", v, cur)
	case c == 0:
		fmt.Fprintf(o.Out, "release: first release of %s (core.Version, not tagged yet)\n", v)
	}
	mods, err := Modules(o.Root)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	libs := Libraries(mods)
	for _, m := range libs {
		if slices.Contains(tags, m.Tag(v)) {
			return fmt.Errorf("release: tag %s exists already", m.Tag(v))
		}
	}
	if err := checkChangelog(o.Root, v); err != nil {
		return fmt.Errorf("release: %w", err)
	}

	fmt.Fprintf(o.Out, "release: core.Version %s -> %s\n", cur, v)
	if err := bump(ctx, o.Root, mods, cur, v, o.Out); err != nil {
		return restore(ctx, o.Root, fmt.Errorf("release: %w", err))
	}
	check := o.Check
	if len(check) == 0 {
		check = []string{"make", "release-check"}
	}
	fmt.Fprintf(o.Out, "release: checking: %s\n", strings.Join(check, " "))
	cmd := exec.CommandContext(ctx, check[0], check[1:]...)
	cmd.Dir = o.Root
	cmd.Stdout, cmd.Stderr = o.Out, o.Out
	if err := cmd.Run(); err != nil {
		return restore(ctx, o.Root, fmt.Errorf("release: the check failed (%s): %w", strings.Join(check, " "), err))
	}

	if _, err := git(ctx, o.Root, "commit", "-q", "-a", "--allow-empty", "-m", "Release "+v); err != nil {
		return restore(ctx, o.Root, fmt.Errorf("release: %w", err))
	}
	commit, err := git(ctx, o.Root, "rev-parse", "--short", "HEAD")
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	var made []string
	for _, m := range libs {
		if _, err := git(ctx, o.Root, "tag", "-a", m.Tag(v), "-m", "oryguard "+m.Dir+" "+v); err != nil {
			return fmt.Errorf("release: tagged %v, then: %w", made, err)
		}
		made = append(made, m.Tag(v))
	}
	branch, err := git(ctx, o.Root, "rev-parse", "--abbrev-ref", "HEAD")
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	remote := o.Remote
	if remote == "" {
		remote = "origin"
	}
	fmt.Fprintf(o.Out, "release: committed %s \"Release %s\" and tagged:\n", strings.TrimSpace(commit), v)
	for _, t := range made {
		fmt.Fprintf(o.Out, "  %s\n", t)
	}
	fmt.Fprintf(o.Out, "release: nothing is pushed; to publish:\n  git push %s %s %s\n", remote, strings.TrimSpace(branch), strings.Join(made, " "))
	return nil
}

// bump sets the version in core/version.go and every go.mod and tidies the
// modules that changed.
func bump(ctx context.Context, root string, mods []Module, cur, v string, out io.Writer) error {
	if cur != v {
		if err := WriteVersion(root, v); err != nil {
			return err
		}
	}
	changed, err := SetRequirements(root, mods, v)
	if err != nil {
		return err
	}
	for _, m := range changed {
		fmt.Fprintf(out, "release: %s/go.mod requires oryguard modules at %s; go mod tidy\n", m.Dir, v)
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir = filepath.Join(root, filepath.FromSlash(m.Dir))
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w\n%s", m.Dir, err, b)
		}
	}
	return nil
}

// restore puts the tree back at HEAD after a failed step (it was clean
// before Release began, so nothing else is lost).
func restore(ctx context.Context, root string, cause error) error {
	if _, err := git(ctx, root, "reset", "-q", "--hard", "HEAD"); err != nil {
		return errors.Join(cause, fmt.Errorf("restoring the tree: %w", err))
	}
	return fmt.Errorf("%w (the tree is back at HEAD)", cause)
}

// checkChangelog wants a "## [X.Y.Z]" entry for v in CHANGELOG.md.
func checkChangelog(root, v string) error {
	data, err := os.ReadFile(filepath.Join(root, "CHANGELOG.md"))
	if err != nil {
		return fmt.Errorf("read CHANGELOG.md: %w", err)
	}
	want := "## [" + strings.TrimPrefix(v, "v") + "]"
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("CHANGELOG.md has no %q entry: move the Unreleased notes under one and commit", want+" - YYYY-MM-DD")
}
