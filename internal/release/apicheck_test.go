package release_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

// The API check flags a breaking change unless the version allows it.
func TestAPICheckFlagsBreakingChanges(t *testing.T) {
	bin := apidiffPath(t)
	tests := []struct {
		name    string
		tag     bool   // tag the start as v0.1.0
		base    string // -base
		version string
		change  string // new core/core.go
		extra   map[string]string
		want    []string
		wantErr string
	}{
		{
			name: "no change, no tag: compares with HEAD", version: "v0.1.0",
			change: "package core\n\n// A is part of the API.\nfunc A() {}\n",
			want:   []string{"no previous release tag (core/v*): comparing with BASE=HEAD", "no API change", "apicheck: ok"},
		},
		{
			name: "a release's new core.Version is no API change", tag: true, version: "v0.1.1",
			change: "package core\n\n// A is part of the API.\nfunc A() {}\n",
			want:   []string{"== core v0.1.1 against core/v0.1.0\nno API change", "apicheck: ok"},
		},
		{
			name: "between releases: breaking changes since the last tag", tag: true, version: "v0.1.0",
			change:  "package core\n\n// B replaces A.\nfunc B() {}\n",
			want:    []string{"== core v0.1.0 against core/v0.1.0", "incompatible: A: removed"},
			wantErr: "breaking API changes in core",
		},
		{
			name: "added func is compatible", version: "v0.1.0",
			change: "package core\n\n// A is part of the API.\nfunc A() {}\n\n// B is new.\nfunc B() {}\n",
			want:   []string{"compatible:   B: added", "apicheck: ok"},
		},
		{
			name: "removed func against HEAD", version: "v0.1.0",
			change:  "package core\n\n// B replaces A.\nfunc B() {}\n\n// A is part of the API.\nfunc A(int) {}\n",
			want:    []string{"incompatible: A: changed from func() to func(int)"},
			wantErr: "breaking API changes in core",
		},
		{
			name: "removed func in a patch release", tag: true, version: "v0.1.1",
			change:  "package core\n\n// B replaces A.\nfunc B() {}\n",
			want:    []string{"against core/v0.1.0", "incompatible: A: removed"},
			wantErr: "breaking API changes in core",
		},
		{
			name: "changed signature in a minor release before v1", tag: true, version: "v0.2.0",
			change: "package core\n\n// A is part of the API.\nfunc A(...int) {}\n",
			want:   []string{"against core/v0.1.0", "incompatible: A: changed from func() to func(...int)", "breaking changes allowed: v0.1.0 -> v0.2.0", "apicheck: ok"},
		},
		{
			name: "a module that no longer builds", version: "v0.2.0", tag: true,
			change:  "package core\n\n// A is part of the API.\nfunc A() {}\n",
			extra:   map[string]string{"core/version.go": "package core\n\n// V replaces Version.\nconst V = \"v0.2.0\"\n"},
			want:    []string{"adapters/x does not build"},
			wantErr: "breaking API changes in adapters/x",
		},
		{
			name: "explicit base ref", base: "HEAD", version: "v0.1.1", tag: true,
			change:  "package core\n\n// A is part of the API.\nfunc A(...int) {}\n",
			want:    []string{"against HEAD", "incompatible: A: changed from func() to func(...int)"},
			wantErr: "breaking API changes in core",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scratchRepo(t, "v0.1.0")
			if tt.tag {
				gitRun(t, root, "tag", "core/v0.1.0")
				gitRun(t, root, "tag", "adapters/x/v0.1.0")
			}
			writeFiles(t, root, map[string]string{"core/core.go": tt.change})
			writeFiles(t, root, tt.extra)
			if _, ok := tt.extra["core/version.go"]; !ok && tt.version != "v0.1.0" {
				if err := release.WriteVersion(root, tt.version); err != nil {
					t.Fatal(err)
				}
			}
			var out strings.Builder
			err := release.APICheck(context.Background(), release.APIOptions{Root: root, Base: tt.base, Version: tt.version, APIDiff: bin, Out: &out})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("APICheck: %v\n%s", err, out.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("APICheck error %v, want %q\n%s", err, tt.wantErr, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
