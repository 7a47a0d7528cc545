package release

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// AllowFile is the list of intended breaking API changes, relative to the
// repository root.
const AllowFile = "internal/release/apicheck-allow.txt"

// AllowList is the list of intended breaking API changes that APICheck
// accepts when it compares a module against Base. Every entry must match
// an incompatible change that apidiff reports against Base, so the list
// cannot outlive the changes it excuses.
type AllowList struct {
	// Base is the git ref the entries were measured against (a commit
	// before the changes). Empty only when there are no entries.
	Base string
	// Entries are the allowed changes.
	Entries []AllowEntry
}

// AllowEntry is one allowed breaking change.
type AllowEntry struct {
	// Module is the module's directory ("core", "adapters/gin").
	Module string
	// Change is apidiff's line for it, as make apicheck prints it after
	// "incompatible: " ("Denial.Decision: removed", "./conformance.Run: removed").
	Change string
	// Line is the entry's line in the file, for messages.
	Line int
}

func (e AllowEntry) String() string { return e.Module + " " + e.Change }

// ReadAllowList reads an allow-list file (see ParseAllowList).
func ReadAllowList(file string) (*AllowList, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the apicheck allow-list: %w", err)
	}
	return ParseAllowList(filepath.Base(file), data)
}

// ParseAllowList parses an allow-list: blank lines and lines starting with
// # are ignored; one line "base <ref>"; then one line per allowed change,
// "<module directory> <apidiff line>".
func ParseAllowList(name string, data []byte) (*AllowList, error) {
	a := &AllowList{}
	seen := map[string]bool{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		first, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if first == "base" {
			if a.Base != "" || rest == "" || strings.ContainsAny(rest, " \t") {
				return nil, fmt.Errorf("%s:%d: want one line \"base <git ref>\"", name, n)
			}
			a.Base = rest
			continue
		}
		if rest == "" {
			return nil, fmt.Errorf("%s:%d: want \"<module directory> <apidiff line>\", got %q", name, n, line)
		}
		if first != path.Clean(first) || !filepath.IsLocal(filepath.FromSlash(first)) {
			return nil, fmt.Errorf("%s:%d: %q is not a module directory", name, n, first)
		}
		e := AllowEntry{Module: first, Change: rest, Line: n}
		if seen[e.String()] {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", name, n, e)
		}
		seen[e.String()] = true
		a.Entries = append(a.Entries, e)
	}
	if a.Base == "" && len(a.Entries) > 0 {
		return nil, fmt.Errorf("%s: entries without a \"base <git ref>\" line: say which revision they were measured against", name)
	}
	return a, nil
}

// allowance tracks which entries of an allow-list a run of APICheck used.
type allowance struct {
	list       *AllowList
	baseCommit string
	used       map[int]bool
}

func newAllowance(ctx context.Context, root string, list *AllowList) (*allowance, error) {
	if list == nil || list.Base == "" {
		return nil, nil
	}
	c, err := resolveCommit(ctx, root, list.Base)
	if err != nil {
		return nil, fmt.Errorf("apicheck allow-list base: %w", err)
	}
	return &allowance{list: list, baseCommit: c, used: map[int]bool{}}, nil
}

// allowed reports whether change in module is an entry, and marks it used.
func (a *allowance) allowed(module, change string) bool {
	for i, e := range a.list.Entries {
		if e.Module == module && e.Change == change {
			a.used[i] = true
			return true
		}
	}
	return false
}

// stale lists the entries no incompatible change matched.
func (a *allowance) stale() []AllowEntry {
	var out []AllowEntry
	for i, e := range a.list.Entries {
		if !a.used[i] {
			out = append(out, e)
		}
	}
	return out
}

func resolveCommit(ctx context.Context, root, ref string) (string, error) {
	out, err := git(ctx, root, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%q is not a commit of the repository: %w", ref, err)
	}
	return strings.TrimSpace(out), nil
}
