package release_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

func TestReleaseRefuses(t *testing.T) {
	tests := []struct {
		name    string
		version string
		setup   func(t *testing.T, root string)
		check   []string
		wantErr string
	}{
		{name: "not a version", version: "0.2.0", wantErr: "is not a version"},
		{name: "shorthand version", version: "v0.2", wantErr: "is not a version"},
		{name: "changed file", version: "v0.2.0", wantErr: "not clean", setup: func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"core/core.go": "package core\n"})
		}},
		{name: "untracked file", version: "v0.2.0", wantErr: "not clean", setup: func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"notes.txt": "x\n"})
		}},
		{name: "older than core.Version", version: "v0.0.9", wantErr: "older than core.Version v0.1.0"},
		{name: "same as a released core.Version", version: "v0.1.0", wantErr: "already released", setup: func(t *testing.T, root string) {
			gitRun(t, root, "tag", "core/v0.1.0")
		}},
		{name: "a module already tagged", version: "v0.2.0", wantErr: "tag adapters/x/v0.2.0 exists", setup: func(t *testing.T, root string) {
			addChangelog(t, root, "0.2.0")
			gitRun(t, root, "tag", "adapters/x/v0.2.0")
		}},
		{name: "no CHANGELOG entry", version: "v0.2.0", wantErr: `CHANGELOG.md has no "## [0.2.0]`},
		{name: "failing check", version: "v0.2.0", check: []string{"false"}, wantErr: "the check failed", setup: func(t *testing.T, root string) {
			addChangelog(t, root, "0.2.0")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scratchRepo(t, "v0.1.0")
			if tt.setup != nil {
				tt.setup(t, root)
			}
			before := gitRun(t, root, "rev-parse", "HEAD")
			tagsBefore := gitRun(t, root, "tag", "--list")
			statusBefore := gitRun(t, root, "status", "--porcelain")
			check := tt.check
			if check == nil {
				check = []string{"true"}
			}
			var out strings.Builder
			err := release.Release(context.Background(), release.Options{Root: root, Version: tt.version, Check: check, Out: &out})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Release error %v, want %q\n%s", err, tt.wantErr, out.String())
			}
			// A refusal leaves the repository as it found it.
			if got := gitRun(t, root, "rev-parse", "HEAD"); got != before {
				t.Errorf("HEAD moved to %s", got)
			}
			if got := gitRun(t, root, "tag", "--list"); got != tagsBefore {
				t.Errorf("tags changed: %q", got)
			}
			if got := gitRun(t, root, "status", "--porcelain"); got != statusBefore {
				t.Errorf("working tree changed:\n%s", got)
			}
			if v, err := release.ReadVersion(root); err != nil || v != "v0.1.0" {
				t.Errorf("core.Version = %q, %v; want v0.1.0", v, err)
			}
		})
	}
}

func addChangelog(t *testing.T, root, v string) {
	t.Helper()
	p := filepath.Join(root, "CHANGELOG.md")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "## [Unreleased]\n", "## [Unreleased]\n\n## ["+v+"] - 2026-12-03\n\n- more\n", 1))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, root, "commit", "-qam", "changelog for "+v)
}

func TestRelease(t *testing.T) {
	tests := []struct {
		name     string
		version  string
		released bool // v0.1.0 tagged before
	}{
		{name: "first release equals core.Version", version: "v0.1.0"},
		{name: "next release", version: "v0.2.0", released: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scratchRepo(t, "v0.1.0")
			if tt.released {
				gitRun(t, root, "tag", "core/v0.1.0")
				gitRun(t, root, "tag", "adapters/x/v0.1.0")
				addChangelog(t, root, strings.TrimPrefix(tt.version, "v"))
			}
			var out strings.Builder
			// The check sees the bumped tree.
			check := []string{"grep", "-q", `const Version = "` + tt.version + `"`, "core/version.go"}
			if err := release.Release(context.Background(), release.Options{Root: root, Version: tt.version, Check: check, Out: &out}); err != nil {
				t.Fatalf("Release: %v\n%s", err, out.String())
			}
			if got := strings.TrimSpace(gitRun(t, root, "log", "-1", "--format=%s")); got != "Release "+tt.version {
				t.Errorf("last commit %q", got)
			}
			if got := gitRun(t, root, "status", "--porcelain"); got != "" {
				t.Errorf("tree not clean after release:\n%s", got)
			}
			for _, tag := range []string{"core/" + tt.version, "adapters/x/" + tt.version} {
				if got := strings.TrimSpace(gitRun(t, root, "rev-parse", tag+"^{commit}")); got != strings.TrimSpace(gitRun(t, root, "rev-parse", "HEAD")) {
					t.Errorf("tag %s at %s, want HEAD", tag, got)
				}
			}
			if got := gitRun(t, root, "tag", "--list", "internal/*"); got != "" {
				t.Errorf("test modules tagged: %s", got)
			}
			if v, _ := release.ReadVersion(root); v != tt.version {
				t.Errorf("core.Version = %s", v)
			}
			for _, f := range []string{"adapters/x/go.mod", "internal/t/go.mod"} {
				data, err := os.ReadFile(filepath.Join(root, f))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), "github.com/oryguard/oryguard/core "+tt.version) && !strings.Contains(string(data), "github.com/oryguard/oryguard/adapters/x "+tt.version) {
					t.Errorf("%s does not require oryguard at %s:\n%s", f, tt.version, data)
				}
				if !strings.Contains(string(data), "=> ../../core") {
					t.Errorf("%s lost its replace line:\n%s", f, data)
				}
			}
			if !strings.Contains(out.String(), "git push origin main adapters/x/"+tt.version+" core/"+tt.version+"\n") {
				t.Errorf("no push command in:\n%s", out.String())
			}
		})
	}
}
