package release_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oryguard/oryguard/internal/release"
)

// gitEnv gives commits in scratch repositories an identity.
var gitEnv = []string{
	"GIT_AUTHOR_NAME=oryguard test", "GIT_AUTHOR_EMAIL=test@oryguard.invalid",
	"GIT_COMMITTER_NAME=oryguard test", "GIT_COMMITTER_EMAIL=test@oryguard.invalid",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
}

func init() {
	for _, kv := range gitEnv {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			panic(err)
		}
	}
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// scratchRepo is a small oryguard-shaped repository: core (with
// core.Version at version and an exported func A) and one adapter that
// requires it, committed.
func scratchRepo(t *testing.T, version string) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.work":           "go 1.26.0\n\nuse (\n\t./core\n\t./adapters/x\n\t./internal/t\n)\n",
		"modules.txt":       "core lib\nadapters/x lib\ninternal/t test\n",
		"CHANGELOG.md":      "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-12-02\n\n- first\n",
		"core/go.mod":       "module github.com/oryguard/oryguard/core\n\ngo 1.26.0\n",
		"core/version.go":   "package core\n\n// Version is the release.\nconst Version = \"" + version + "\"\n",
		"core/core.go":      "package core\n\n// A is part of the API.\nfunc A() {}\n",
		"adapters/x/go.mod": "module github.com/oryguard/oryguard/adapters/x\n\ngo 1.26.0\n\nrequire github.com/oryguard/oryguard/core " + version + "\n\nreplace github.com/oryguard/oryguard/core => ../../core\n",
		"adapters/x/x.go":   "package x\n\nimport \"github.com/oryguard/oryguard/core\"\n\n// X is core's version.\nfunc X() string { return core.Version }\n",
		"internal/t/go.mod": "module github.com/oryguard/oryguard/internal/t\n\ngo 1.26.0\n\nrequire github.com/oryguard/oryguard/adapters/x " + version + "\n\nreplace (\n\tgithub.com/oryguard/oryguard/adapters/x => ../../adapters/x\n\tgithub.com/oryguard/oryguard/core => ../../core\n)\n",
		"internal/t/t.go":   "package t\n\nimport \"github.com/oryguard/oryguard/adapters/x\"\n\n// T calls x.\nfunc T() { x.X() }\n",
	})
	gitRun(t, root, "init", "-q", "-b", "main")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-qm", "start")
	return root
}

var (
	apidiffOnce sync.Once
	apidiffBin  string
	apidiffErr  error
)

// apidiffPath is the pinned apidiff: $ORYGUARD_APIDIFF (make builds it),
// else built from internal/tools/apidiff.
func apidiffPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ORYGUARD_APIDIFF"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	apidiffOnce.Do(func() {
		root, err := release.FindRoot(".")
		if err != nil {
			apidiffErr = err
			return
		}
		dir, err := os.MkdirTemp("", "oryguard-apidiff-")
		if err != nil {
			apidiffErr = err
			return
		}
		apidiffBin = filepath.Join(dir, "apidiff")
		cmd := exec.Command("go", "build", "-o", apidiffBin, "golang.org/x/exp/cmd/apidiff")
		cmd.Dir = filepath.Join(root, "internal", "tools", "apidiff")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			apidiffErr = &buildError{err: err, out: string(out)}
		}
	})
	if apidiffErr != nil {
		t.Fatalf("build apidiff: %v", apidiffErr)
	}
	return apidiffBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
