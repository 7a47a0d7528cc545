package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Pack writes the library modules mods of the tree at root, at version,
// into dir laid out as a module proxy (GOPROXY=file://dir): for each
// module <path>/@v/list, <version>.info, <version>.mod and <version>.zip.
//
// The zips are real module zips made by golang.org/x/mod/zip from the
// working tree, so they follow the module zip rules; a module with a file
// that breaks them (a name that is not allowed, two names that differ only
// in case, a file over the size limits) fails here, as it would fail for
// its users. Like the go command packing a module in a subdirectory of a
// repository, the repository's LICENSE goes into a module that has none.
func Pack(root string, mods []Module, version, dir string) error {
	license := filepath.Join(root, "LICENSE")
	if _, err := os.Stat(license); err != nil {
		license = ""
	}
	for _, m := range mods {
		if err := packOne(root, m, version, dir, license); err != nil {
			return fmt.Errorf("pack %s@%s: %w", m.Path, version, err)
		}
	}
	return nil
}

func packOne(root string, m Module, version, dir, license string) error {
	mv := module.Version{Path: m.Path, Version: version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return fmt.Errorf("module path or version: %w", err)
	}
	src := filepath.Join(root, filepath.FromSlash(m.Dir))
	cf, err := modzip.CheckDir(src)
	if err != nil {
		return fmt.Errorf("module zip rules: %w", err)
	}
	files := make([]modzip.File, 0, len(cf.Valid)+1)
	hasLicense := false
	for _, p := range cf.Valid {
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("file %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		if rel == "LICENSE" {
			hasLicense = true
		}
		files = append(files, diskFile{slash: rel, path: p})
	}
	if !hasLicense && license != "" {
		files = append(files, diskFile{slash: "LICENSE", path: license})
	}

	esc, err := module.EscapePath(mv.Path)
	if err != nil {
		return fmt.Errorf("escape module path: %w", err)
	}
	escVer, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return fmt.Errorf("escape version: %w", err)
	}
	vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return fmt.Errorf("proxy dir: %w", err)
	}
	var zipBuf bytes.Buffer
	if err := modzip.Create(&zipBuf, mv, files); err != nil {
		return fmt.Errorf("module zip: %w", err)
	}
	gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return fmt.Errorf("read go.mod: %w", err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{mv.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("encode .info: %w", err)
	}
	for name, data := range map[string][]byte{
		escVer + ".zip":  zipBuf.Bytes(),
		escVer + ".mod":  gomod,
		escVer + ".info": info,
		"list":           []byte(mv.Version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path.Join(esc, "@v", name), err)
		}
	}
	return nil
}

// diskFile is a file of the working tree under the name it gets in the zip.
type diskFile struct{ slash, path string }

func (f diskFile) Path() string                 { return f.slash }
func (f diskFile) Lstat() (os.FileInfo, error)  { return os.Lstat(f.path) }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }
