package release

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// ModulePrefix is the path every oryguard module starts with.
const ModulePrefix = "github.com/oryguard/oryguard"

// ModulesFile is the list of the repository's modules, relative to the
// root: one line per module, "<directory> <kind> [no-tidy]", with blank
// lines and #-comments ignored. The Makefile and CI read it too.
const ModulesFile = "modules.txt"

// Kind is what a module is for.
type Kind string

// The kinds of module in ModulesFile.
const (
	// KindLib is a released library module: tagged by make release and
	// compared by make apicheck.
	KindLib Kind = "lib"
	// KindTest is a module that is never released: examples, test suites,
	// benchmarks, the release tooling.
	KindTest Kind = "test"
	// KindTool is a pinned tool that make builds; it is not in go.work.
	KindTool Kind = "tool"
)

// Module is one go.mod of the repository.
type Module struct {
	// Dir is the module's directory relative to the repository root, with
	// slashes ("core", "adapters/gin", "internal/e2e").
	Dir string
	// Path is the module path.
	Path string
	// Kind is what the module is for.
	Kind Kind
	// Library is true for a released module (Kind is KindLib).
	Library bool
	// NoTidy leaves the module out of make tidy-check.
	NoTidy bool
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

// Modules reads the module list (ModulesFile) under root and each listed
// module's path from its go.mod, sorted by directory.
func Modules(root string) ([]Module, error) {
	mods, err := ReadModuleList(root)
	if err != nil {
		return nil, err
	}
	for i, m := range mods {
		p := filepath.Join(root, filepath.FromSlash(m.Dir), "go.mod")
		mp, err := modulePath(p)
		if err != nil {
			return nil, fmt.Errorf("%s lists %s: %w", ModulesFile, m.Dir, err)
		}
		mods[i].Path = mp
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Dir < mods[j].Dir })
	return mods, nil
}

// ReadModuleList parses ModulesFile under root, in the file's order; Path
// is left empty.
func ReadModuleList(root string) ([]Module, error) {
	data, err := os.ReadFile(filepath.Join(root, ModulesFile))
	if err != nil {
		return nil, fmt.Errorf("read the module list: %w", err)
	}
	var mods []Module
	seen := map[string]bool{}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", ModulesFile, n, fmt.Sprintf(format, a...))
		}
		if len(f) > 3 || len(f) < 2 {
			return nil, bad("want \"<directory> <kind> [no-tidy]\", got %q", strings.TrimSpace(line))
		}
		m := Module{Dir: f[0], Kind: Kind(f[1])}
		if m.Dir != path.Clean(m.Dir) || !filepath.IsLocal(filepath.FromSlash(m.Dir)) || m.Dir == "." {
			return nil, bad("directory %q is not a clean path inside the repository", m.Dir)
		}
		switch m.Kind {
		case KindLib, KindTest, KindTool:
		default:
			return nil, bad("kind %q is not one of lib, test, tool", f[1])
		}
		if len(f) == 3 {
			if f[2] != "no-tidy" {
				return nil, bad("unknown flag %q (only no-tidy)", f[2])
			}
			m.NoTidy = true
		}
		if seen[m.Dir] {
			return nil, bad("%s is listed twice", m.Dir)
		}
		seen[m.Dir] = true
		m.Library = m.Kind == KindLib
		mods = append(mods, m)
	}
	return mods, nil
}

// CheckModuleList compares the module list with the repository at root and
// returns one line per disagreement: a go.mod that is not listed, a listed
// module without a go.mod or whose module path is not
// ModulePrefix/<directory>, and a difference between go.work's use list and
// the listed lib and test modules.
func CheckModuleList(root string) ([]string, error) {
	listed, err := ReadModuleList(root)
	if err != nil {
		return nil, err
	}
	found, err := findGoMods(root)
	if err != nil {
		return nil, err
	}
	var problems []string
	inList := map[string]bool{}
	wantUse := map[string]bool{}
	for _, m := range listed {
		inList[m.Dir] = true
		if m.Kind != KindTool {
			wantUse[m.Dir] = true
		}
		p, ok := found[m.Dir]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s lists %s, which has no go.mod: add the module or remove the line", ModulesFile, m.Dir))
			continue
		}
		if want := ModulePrefix + "/" + m.Dir; p != want {
			problems = append(problems, fmt.Sprintf("%s/go.mod declares module %s, want %s", m.Dir, p, want))
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(found)) {
		if !inList[dir] {
			problems = append(problems, fmt.Sprintf("%s/go.mod is not in %s: add a line \"%s <lib|test|tool>\"", dir, ModulesFile, dir))
		}
	}
	use, err := workUses(root)
	if err != nil {
		return nil, err
	}
	for _, dir := range slices.Sorted(maps.Keys(wantUse)) {
		if !use[dir] {
			problems = append(problems, fmt.Sprintf("go.work does not use ./%s, which %s lists (make work)", dir, ModulesFile))
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(use)) {
		if !wantUse[dir] {
			problems = append(problems, fmt.Sprintf("go.work uses ./%s, which %s does not list as a lib or test module (make work)", dir, ModulesFile))
		}
	}
	return problems, nil
}

// findGoMods maps the directory of every go.mod under root (skipping hidden
// directories, testdata and vendor) to its module path.
func findGoMods(root string) (map[string]string, error) {
	found := map[string]string{}
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
		mp, err := modulePath(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return fmt.Errorf("module dir %s: %w", p, err)
		}
		found[filepath.ToSlash(rel)] = mp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find go.mod files under %s: %w", root, err)
	}
	return found, nil
}

// workUses is the set of directories go.work uses, relative to root.
func workUses(root string) (map[string]bool, error) {
	p := filepath.Join(root, "go.work")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read go.work: %w", err)
	}
	wf, err := modfile.ParseWork(p, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse go.work: %w", err)
	}
	use := map[string]bool{}
	for _, u := range wf.Use {
		use[path.Clean(filepath.ToSlash(u.Path))] = true
	}
	return use, nil
}

func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	mp := modfile.ModulePath(data)
	if mp == "" {
		return "", fmt.Errorf("%s: no module line", gomod)
	}
	return mp, nil
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
