package release

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// ModulePrefix is the path every oryguard module starts with.
const ModulePrefix = "github.com/oryguard/oryguard"

// Module is one go.mod of the repository.
type Module struct {
	// Dir is the module's directory relative to the repository root, with
	// slashes ("core", "adapters/gin", "internal/e2e").
	Dir string
	// Path is the module path.
	Path string
	// Library is true for a released module: every go.mod outside internal/
	// and examples/.
	Library bool
}

// Tag is the module's release tag for version: "core/v0.1.0".
func (m Module) Tag(version string) string {
	if m.Dir == "." {
		return version
	}
	return m.Dir + "/" + version
}

// FindRoot walks up from dir to the repository root, the directory that
// holds go.work.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find repository root: no go.work above %s", dir)
		}
	}
}

// Modules lists every go.mod under root (skipping hidden directories,
// testdata and vendor), sorted by directory. New modules are found without
// a list to keep up to date.
func Modules(root string) ([]Module, error) {
	var mods []Module
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		path := modfile.ModulePath(data)
		if path == "" {
			return fmt.Errorf("%s: no module line", p)
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return fmt.Errorf("module dir %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		top, _, _ := strings.Cut(rel, "/")
		mods = append(mods, Module{Dir: rel, Path: path, Library: top != "internal" && top != "examples"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list modules under %s: %w", root, err)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Dir < mods[j].Dir })
	return mods, nil
}

// Libraries keeps the library modules of mods.
func Libraries(mods []Module) []Module {
	var out []Module
	for _, m := range mods {
		if m.Library {
			out = append(out, m)
		}
	}
	return out
}

// VersionFile is where core.Version is declared, relative to the root.
const VersionFile = "core/version.go"

var versionDecl = regexp.MustCompile(`(?m)^const Version = "([^"]*)"$`)

// ReadVersion returns core.Version as declared in the tree at root.
func ReadVersion(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, VersionFile))
	if err != nil {
		return "", fmt.Errorf("read core.Version: %w", err)
	}
	m := versionDecl.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("read core.Version: no `const Version = \"...\"` line in %s", VersionFile)
	}
	v := string(m[1])
	if err := CheckVersion(v); err != nil {
		return "", fmt.Errorf("core.Version in %s: %w", VersionFile, err)
	}
	return v, nil
}

// WriteVersion sets core.Version in the tree at root.
func WriteVersion(root, version string) error {
	p := filepath.Join(root, VersionFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("set core.Version: %w", err)
	}
	if !versionDecl.Match(data) {
		return fmt.Errorf("set core.Version: no `const Version = \"...\"` line in %s", VersionFile)
	}
	data = versionDecl.ReplaceAll(data, []byte(`const Version = "`+version+`"`))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("set core.Version: %w", err)
	}
	return nil
}

// CheckVersion accepts a semantic version in the form of a tag: v1.2.3 or
// v1.2.3-rc.1 (no build metadata, no shorthand such as v1.2).
func CheckVersion(v string) error {
	if !semver.IsValid(v) || semver.Canonical(v) != v {
		return fmt.Errorf("%q is not a version of the form vMAJOR.MINOR.PATCH (such as v0.2.0)", v)
	}
	return nil
}

// SetRequirements makes every go.mod under root require each oryguard
// module it requires at version, leaving replace lines alone. It returns
// the modules whose go.mod changed.
func SetRequirements(root string, mods []Module, version string) ([]Module, error) {
	var changed []Module
	for _, m := range mods {
		p := filepath.Join(root, filepath.FromSlash(m.Dir), "go.mod")
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		dirty := false
		for _, r := range f.Require {
			if isOryguard(r.Mod.Path) && r.Mod.Version != version {
				// The version is the line's last token, in a block
				// ("path v") as on its own ("require path v").
				toks := r.Syntax.Token
				toks[len(toks)-1] = version
				r.Mod.Version = version
				dirty = true
			}
		}
		if !dirty {
			continue
		}
		f.Cleanup()
		out, err := f.Format()
		if err != nil {
			return nil, fmt.Errorf("format %s: %w", p, err)
		}
		if err := os.WriteFile(p, out, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		changed = append(changed, m)
	}
	return changed, nil
}

func isOryguard(path string) bool {
	return path == ModulePrefix || strings.HasPrefix(path, ModulePrefix+"/")
}
