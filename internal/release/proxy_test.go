package release_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPackFollowsTheZipRules(t *testing.T) {
	const gomod = "module github.com/oryguard/oryguard/adapters/x\n\ngo 1.26.0\n"
	tests := []struct {
		name    string
		files   map[string]string
		bigMod  bool
		wantErr string // substring; empty: packs
		want    []string
	}{
		{
			name:  "valid module gets the repository's LICENSE; nested modules stay out",
			files: map[string]string{"go.mod": gomod, "x.go": "package x\n", "sub/y.go": "package sub\n", "nested/go.mod": "module other\n", "nested/z.go": "package z\n"},
			want:  []string{"LICENSE", "go.mod", "sub/y.go", "x.go"},
		},
		{
			name:  "own LICENSE is kept",
			files: map[string]string{"go.mod": gomod, "x.go": "package x\n", "LICENSE": "own\n"},
			want:  []string{"LICENSE", "go.mod", "x.go"},
		},
		{
			name:    "names that differ only in case",
			files:   map[string]string{"go.mod": gomod, "x.go": "package x\n", "X.go": "package x\n"},
			wantErr: "case-insensitive file name collision",
		},
		{
			name:    "a name that is not allowed",
			files:   map[string]string{"go.mod": gomod, "x.go": "package x\n", "a:b.go": "package x\n"},
			wantErr: "invalid char",
		},
		{
			name:    "go.mod over the size limit",
			files:   map[string]string{"x.go": "package x\n"},
			bigMod:  true,
			wantErr: "go.mod file too large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"LICENSE": "repository license\n"})
			writeFiles(t, filepath.Join(root, "adapters", "x"), tt.files)
			if tt.bigMod {
				big := gomod + "// " + strings.Repeat("x", 16<<20) + "\n"
				writeFiles(t, filepath.Join(root, "adapters", "x"), map[string]string{"go.mod": big})
			}
			proxy := filepath.Join(t.TempDir(), "proxy")
			m := release.Module{Dir: "adapters/x", Path: "github.com/oryguard/oryguard/adapters/x", Library: true}
			err := release.Pack(root, []release.Module{m}, "v0.3.0", proxy)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Pack error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vdir := filepath.Join(proxy, "github.com", "oryguard", "oryguard", "adapters", "x", "@v")
			for _, f := range []string{"list", "v0.3.0.info", "v0.3.0.mod", "v0.3.0.zip"} {
				if _, err := os.Stat(filepath.Join(vdir, f)); err != nil {
					t.Errorf("proxy lacks %s: %v", f, err)
				}
			}
			zr, err := zip.OpenReader(filepath.Join(vdir, "v0.3.0.zip"))
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			var got []string
			for _, f := range zr.File {
				name, ok := strings.CutPrefix(f.Name, m.Path+"@v0.3.0/")
				if !ok {
					t.Fatalf("zip entry %q outside %s@v0.3.0/", f.Name, m.Path)
				}
				got = append(got, name)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("zip holds %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSnippets(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    []string // name=first code line
		wantErr string
	}{
		{"two", "# x\n<!-- snippet: gin -->\n```go\npackage main\n```\ntext\n<!-- snippet: echo -->\n```go\npackage echo\n```\n", []string{"gin=package main", "echo=package echo"}, ""},
		{"unmarked blocks are ignored", "```go\npackage main\n```\n", nil, ""},
		{"marker without a go fence", "<!-- snippet: gin -->\n```sh\ngo get x\n```\n", nil, "must be followed by a ```go line"},
		{"unclosed", "<!-- snippet: gin -->\n```go\npackage main\n", nil, "no closing"},
		{"twice", "<!-- snippet: gin -->\n```go\n```\n<!-- snippet: gin -->\n```go\n```\n", nil, "already marked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := release.Snippets([]byte(tt.readme))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				first, _, _ := strings.Cut(s.Code, "\n")
				names = append(names, s.Name+"="+first)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", names, tt.want)
			}
		})
	}
}
