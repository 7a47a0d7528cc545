package release_test

import (
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

// The repository's module list, its go.mod files and go.work agree: a new
// module that is not listed fails make test.
func TestModuleListMatchesRepository(t *testing.T) {
	problems, err := release.CheckModuleList(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestModules(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"modules.txt": "# comment\n\ncore lib\ninternal/e2e  test # end-to-end\n" +
			"adapters/new lib\ninternal/tools/kratos tool no-tidy\n",
		"core/go.mod":                  "module github.com/oryguard/oryguard/core\n",
		"adapters/new/go.mod":          "module github.com/oryguard/oryguard/adapters/new\n",
		"internal/e2e/go.mod":          "module github.com/oryguard/oryguard/internal/e2e\n",
		"internal/tools/kratos/go.mod": "module github.com/oryguard/oryguard/internal/tools/kratos\n",
	})
	mods, err := release.Modules(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mods {
		s := m.Dir + ":" + string(m.Kind)
		if m.Library {
			s += ":released"
		}
		if m.NoTidy {
			s += ":no-tidy"
		}
		got = append(got, s)
	}
	want := "adapters/new:lib:released core:lib:released internal/e2e:test internal/tools/kratos:tool:no-tidy"
	if strings.Join(got, " ") != want {
		t.Fatalf("Modules = %v, want %s", got, want)
	}
	if mods[0].Path != "github.com/oryguard/oryguard/adapters/new" {
		t.Errorf("Path = %q", mods[0].Path)
	}
}

func TestReadModuleListRejects(t *testing.T) {
	tests := []struct {
		name, list, wantErr string
	}{
		{"unknown kind", "core library\n", `kind "library"`},
		{"missing kind", "core\n", "want"},
		{"too many fields", "core lib no-tidy x\n", "want"},
		{"unknown flag", "core lib tidy\n", `unknown flag "tidy"`},
		{"twice", "core lib\ncore test\n", "modules.txt:2: core is listed twice"},
		{"outside the tree", "../x lib\n", "not a clean path"},
		{"unclean", "adapters//gin lib\n", "not a clean path"},
		{"root", ". lib\n", "not a clean path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"modules.txt": tt.list})
			_, err := release.ReadModuleList(root)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckModuleList(t *testing.T) {
	const (
		core = "module github.com/oryguard/oryguard/core\n"
		e2e  = "module github.com/oryguard/oryguard/internal/e2e\n"
		lint = "module github.com/oryguard/oryguard/internal/tools/lint\n"
		work = "go 1.26.0\n\nuse (\n\t./core\n\t./internal/e2e\n)\n"
		list = "core lib\ninternal/e2e test\ninternal/tools/lint tool\n"
	)
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{name: "in step", files: map[string]string{}},
		{
			name:  "ignored places",
			files: map[string]string{".cache/x/go.mod": "module x\n", "core/testdata/m/go.mod": "module y\n", "internal/e2e/vendor/z/go.mod": "module z\n"},
		},
		{
			name:  "a new adapter not listed",
			files: map[string]string{"adapters/grpc/go.mod": "module github.com/oryguard/oryguard/adapters/grpc\n"},
			want:  []string{`adapters/grpc/go.mod is not in modules.txt: add a line "adapters/grpc <lib|test|tool>"`},
		},
		{
			name:  "a new tool not listed",
			files: map[string]string{"internal/tools/x/go.mod": "module github.com/oryguard/oryguard/internal/tools/x\n"},
			want:  []string{"internal/tools/x/go.mod is not in modules.txt"},
		},
		{
			name:  "listed without a go.mod",
			files: map[string]string{"modules.txt": list + "internal/fleet test\n", "go.work": "go 1.26.0\n\nuse (\n\t./core\n\t./internal/e2e\n\t./internal/fleet\n)\n"},
			want:  []string{"modules.txt lists internal/fleet, which has no go.mod"},
		},
		{
			name:  "wrong module path",
			files: map[string]string{"internal/e2e/go.mod": "module github.com/oryguard/oryguard/internal/reliability\n"},
			want:  []string{"internal/e2e/go.mod declares module github.com/oryguard/oryguard/internal/reliability, want github.com/oryguard/oryguard/internal/e2e"},
		},
		{
			name:  "go.work lacks a listed module",
			files: map[string]string{"go.work": "go 1.26.0\n\nuse ./core\n"},
			want:  []string{"go.work does not use ./internal/e2e"},
		},
		{
			name:  "go.work uses a tool",
			files: map[string]string{"go.work": "go 1.26.0\n\nuse (\n\t./core\n\t./internal/e2e\n\t./internal/tools/lint\n)\n"},
			want:  []string{"go.work uses ./internal/tools/lint, which modules.txt does not list as a lib or test module"},
		},
		{
			name: "go.work uses an unlisted module",
			files: map[string]string{
				"go.work":           "go 1.26.0\n\nuse (\n\t./core\n\t./internal/e2e\n\t./internal/x\n)\n",
				"internal/x/go.mod": "module github.com/oryguard/oryguard/internal/x\n",
			},
			want: []string{"internal/x/go.mod is not in modules.txt", "go.work uses ./internal/x, which modules.txt does not list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := map[string]string{"modules.txt": list, "go.work": work, "core/go.mod": core, "internal/e2e/go.mod": e2e, "internal/tools/lint/go.mod": lint}
			for k, v := range tt.files {
				files[k] = v
			}
			writeFiles(t, root, files)
			got, err := release.CheckModuleList(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d: %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}
