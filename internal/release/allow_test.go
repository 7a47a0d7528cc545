package release_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

// The repository's allow-list is current: against its base, every entry
// matches a real incompatible change and no other breaking change is
// there. This is make apicheck BASE=<the list's base>, run by make test.
func TestAllowListIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs apidiff over every library module")
	}
	root := repoRoot(t)
	allow, err := release.ReadAllowList(filepath.Join(root, filepath.FromSlash(release.AllowFile)))
	if err != nil {
		t.Fatal(err)
	}
	if allow.Base == "" {
		t.Skipf("%s lists no intended breaking change", release.AllowFile)
	}
	var out strings.Builder
	err = release.APICheck(context.Background(), release.APIOptions{
		Root: root, Base: allow.Base, APIDiff: apidiffPath(t), Allow: allow, Out: &out,
	})
	if err != nil {
		t.Fatalf("make apicheck BASE=%s: %v\n%s", allow.Base, err, out.String())
	}
}

// Intended breaks pass against the list's base only, and an entry that
// matches nothing fails.
func TestAPICheckAllowList(t *testing.T) {
	bin := apidiffPath(t)
	const (
		removeA = "package core\n\n// B replaces A.\nfunc B() {}\n"
		sub     = "package sub\n\n// C is part of the API.\nfunc C() {}\n"
	)
	tests := []struct {
		name    string
		allow   string // the list; BASE stands for the first commit
		base    string // -base; BASE stands for the first commit
		change  map[string]string
		want    []string
		wantErr string
	}{
		{
			name: "an intended break", allow: "base BASE\ncore A: removed\n", base: "BASE",
			change: map[string]string{"core/core.go": removeA},
			want:   []string{"allowed:      A: removed", "apicheck: ok"},
		},
		{
			name: "a break in a package of the module", allow: "base BASE\ncore ./sub.C: removed\n", base: "BASE",
			change: map[string]string{"core/sub/sub.go": "package sub\n"},
			want:   []string{"allowed:      ./sub.C: removed", "apicheck: ok"},
		},
		{
			name: "the base named another way", allow: "base main~1\ncore A: removed\n", base: "BASE",
			change: map[string]string{"core/core.go": removeA},
			want:   []string{"allowed:      A: removed", "apicheck: ok"},
		},
		{
			name: "a break not listed", allow: "base BASE\ncore A: removed\n", base: "BASE",
			change: map[string]string{"core/core.go": removeA, "core/sub/sub.go": "package sub\n"},
			want:   []string{"allowed:      A: removed", "incompatible: ./sub.C: removed"}, wantErr: "breaking API changes in core",
		},
		{
			name: "the same change in another module", allow: "base BASE\nadapters/x A: removed\n", base: "BASE",
			change:  map[string]string{"core/core.go": removeA},
			want:    []string{"incompatible: A: removed", "stale allow-list entry (no such incompatible change): internal/release/apicheck-allow.txt:2: adapters/x A: removed"},
			wantErr: "breaking API changes in core, and 1 stale allow-list entries",
		},
		{
			name: "a stale entry", allow: "# intended\nbase BASE\ncore A: removed\ncore A: changed from func() to func(int)\n", base: "BASE",
			change:  map[string]string{"core/core.go": removeA},
			want:    []string{"allowed:      A: removed", "apicheck-allow.txt:4: core A: changed from func() to func(int)"},
			wantErr: "1 allow-list entries match no incompatible change",
		},
		{
			name: "no change at all: every entry is stale", allow: "base BASE\ncore A: removed\n", base: "BASE",
			want:    []string{"no API change", "stale allow-list entry"},
			wantErr: "1 allow-list entries match no incompatible change",
		},
		{
			name: "another base: the list does not apply", allow: "base BASE\ncore A: removed\n", base: "HEAD",
			change:  map[string]string{"core/core.go": removeA},
			want:    []string{"incompatible: A: removed", "the allow-list's 1 entries are for base"},
			wantErr: "breaking API changes in core",
		},
		{
			name: "an empty list", allow: "# nothing intended\n", base: "BASE",
			change:  map[string]string{"core/core.go": removeA},
			want:    []string{"incompatible: A: removed"},
			wantErr: "breaking API changes in core",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scratchRepo(t, "v0.1.0")
			writeFiles(t, root, map[string]string{"core/sub/sub.go": sub})
			gitRun(t, root, "add", "-A")
			gitRun(t, root, "commit", "-qm", "sub")
			first := strings.TrimSpace(gitRun(t, root, "rev-parse", "HEAD"))
			// A second commit, so that HEAD is not the list's base.
			writeFiles(t, root, map[string]string{"notes.txt": "x\n"})
			gitRun(t, root, "add", "-A")
			gitRun(t, root, "commit", "-qm", "notes")
			writeFiles(t, root, tt.change)

			allow, err := release.ParseAllowList("apicheck-allow.txt", []byte(strings.ReplaceAll(tt.allow, "BASE", first)))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = release.APICheck(context.Background(), release.APIOptions{
				Root: root, Base: strings.ReplaceAll(tt.base, "BASE", first), Version: "v0.1.0",
				APIDiff: bin, Allow: allow, Out: &out,
			})
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

func TestParseAllowList(t *testing.T) {
	tests := []struct {
		name, list string
		want       []string // module|change
		wantErr    string
	}{
		{name: "empty", list: "# nothing\n\n"},
		{name: "entries", list: "base abc123\ncore Denial.Decision: removed\n  adapters/gin   SessionKey: removed  \n", want: []string{"core|Denial.Decision: removed", "adapters/gin|SessionKey: removed"}},
		{name: "entries without base", list: "core A: removed\n", wantErr: "without a \"base <git ref>\" line"},
		{name: "two bases", list: "base a\nbase b\n", wantErr: ":2: want one line \"base <git ref>\""},
		{name: "base with spaces", list: "base a b\n", wantErr: ":1: want one line"},
		{name: "module without change", list: "base a\ncore\n", wantErr: ":2: want \"<module directory> <apidiff line>\""},
		{name: "not a directory", list: "base a\n../core A: removed\n", wantErr: "is not a module directory"},
		{name: "twice", list: "base a\ncore A: removed\ncore A: removed\n", wantErr: ":3: core A: removed is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := release.ParseAllowList("allow.txt", []byte(tt.list))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range a.Entries {
				got = append(got, e.Module+"|"+e.Change)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("entries %q, want %q", got, tt.want)
			}
		})
	}
}

// The repository's allow-list parses (make apicheck reads it).
func TestAllowFileParses(t *testing.T) {
	if _, err := release.ReadAllowList(filepath.Join(repoRoot(t), filepath.FromSlash(release.AllowFile))); err != nil {
		t.Fatal(err)
	}
}
