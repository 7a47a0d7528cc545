package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

// OathkeeperBinaryEnv is the environment variable that names the Ory
// Oathkeeper binary of the peer rows; make bench sets it to the one it
// builds (make oathkeeper).
const OathkeeperBinaryEnv = "ORYGUARD_OATHKEEPER_BIN"

// OathkeeperBinary is the Oathkeeper binary to run: bin when set, else
// $ORYGUARD_OATHKEEPER_BIN, else <repository>/.cache/bin/oathkeeper. It is
// an error when the file is not there.
func OathkeeperBinary(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv(OathkeeperBinaryEnv)
	}
	if bin == "" {
		root, err := kratos.RepoRoot()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(root, ".cache", "bin", "oathkeeper")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("no Ory Oathkeeper binary (%w): run make oathkeeper, or set %s", err, OathkeeperBinaryEnv)
	}
	return bin, nil
}

// oathkeeperUserHeader is the header Oathkeeper's header mutator sets to
// the session's identity on the requests it lets through.
const oathkeeperUserHeader = "X-User"

// oathkeeper is a running Ory Oathkeeper proxy on 127.0.0.1.
type oathkeeper struct {
	proxyURL string
	version  string
	cmd      *exec.Cmd
	dir      string
	out      *lockedBuffer
	exited   chan struct{}
}

// oathkeeperRule is the one access rule of the peer rows: GET path on the
// proxy, authenticated with cookie_session, allowed to anyone with a
// session, the identity put into oathkeeperUserHeader, forwarded to
// upstream.
func oathkeeperRule(proxyPort int, path, upstream string) []map[string]any {
	return []map[string]any{{
		"id": "oryguard-bench-peer",
		"match": map[string]any{
			"url":     fmt.Sprintf("http://127.0.0.1:%d%s", proxyPort, path),
			"methods": []string{http.MethodGet},
		},
		"authenticators": []map[string]any{{"handler": "cookie_session"}},
		"authorizer":     map[string]any{"handler": "allow"},
		"mutators":       []map[string]any{{"handler": "header"}},
		"upstream":       map[string]any{"url": upstream, "preserve_host": false},
	}}
}

// oathkeeperConfig is Oathkeeper's configuration for the peer rows: the
// proxy, API and metrics ports on 127.0.0.1, the rules from rulesFile, and
// the cookie_session authenticator asking checkSessionURL (Kratos'
// /sessions/whoami, path and query kept as configured) about Kratos'
// session cookie, as Ory's guide for Oathkeeper in front of Kratos does.
func oathkeeperConfig(proxyPort, apiPort, metricsPort int, rulesFile, checkSessionURL string) map[string]any {
	listen := func(port int) map[string]any { return map[string]any{"host": "127.0.0.1", "port": port} }
	return map[string]any{
		"log": map[string]any{"level": "error", "format": "json"},
		"serve": map[string]any{
			"proxy":      listen(proxyPort),
			"api":        listen(apiPort),
			"prometheus": listen(metricsPort),
		},
		"access_rules": map[string]any{
			"repositories":      []string{"file://" + rulesFile},
			"matching_strategy": "regexp",
		},
		"authenticators": map[string]any{
			"cookie_session": map[string]any{"enabled": true, "config": map[string]any{
				"check_session_url": checkSessionURL,
				"preserve_path":     true,
				"preserve_query":    true,
				"only":              []string{kratos.SessionCookieName},
				"subject_from":      "identity.id",
				"extra_from":        "@this",
			}},
		},
		"authorizers": map[string]any{"allow": map[string]any{"enabled": true}},
		"mutators": map[string]any{
			"noop": map[string]any{"enabled": true},
			"header": map[string]any{"enabled": true, "config": map[string]any{
				"headers": map[string]string{oathkeeperUserHeader: "{{ print .Subject }}"},
			}},
		},
	}
}

// startOathkeeper runs bin as a proxy that serves path (GET only) by asking
// kratosURL's /sessions/whoami about the request's session cookie and
// forwarding allowed requests to upstream+path. It returns once
// Oathkeeper is ready.
func startOathkeeper(ctx context.Context, bin, kratosURL, path, upstream string) (_ *oathkeeper, err error) {
	var ports [3]int
	for i := range ports {
		if ports[i], err = kratos.FreePort(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "oryguard-bench-oathkeeper-*")
	if err != nil {
		return nil, fmt.Errorf("oathkeeper: %w", err)
	}
	o := &oathkeeper{proxyURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), dir: dir, out: &lockedBuffer{}, exited: make(chan struct{})}
	defer func() {
		if err != nil {
			o.Close()
		}
	}()
	rules := filepath.Join(dir, "rules.json")
	conf := filepath.Join(dir, "oathkeeper.json")
	if err := writeJSON(rules, oathkeeperRule(ports[0], path, upstream)); err != nil {
		return nil, err
	}
	if err := writeJSON(conf, oathkeeperConfig(ports[0], ports[1], ports[2], rules, kratosURL+"/sessions/whoami")); err != nil {
		return nil, err
	}
	if o.version, err = oathkeeperVersion(ctx, bin); err != nil {
		return nil, err
	}
	// Ended by Close; the context kills it when the run is interrupted.
	o.cmd = exec.CommandContext(ctx, bin, "serve", "--config", conf, "--sqa-opt-out")
	o.cmd.Env = smallEnv()
	o.cmd.Stdout, o.cmd.Stderr = o.out, o.out
	if err := o.cmd.Start(); err != nil {
		return nil, fmt.Errorf("oathkeeper: start %s: %w", bin, err)
	}
	go func() {
		_ = o.cmd.Wait()
		close(o.exited)
	}()
	ready := fmt.Sprintf("http://127.0.0.1:%d/health/ready", ports[1])
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, err := get(ctx, noRedirects, ready, nil)
		if err == nil && status == http.StatusOK {
			return o, nil
		}
		select {
		case <-o.exited:
			return nil, fmt.Errorf("oathkeeper exited before it was ready: %s", oneLine(o.out.String()))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("/health/ready answered %d", status)
			}
			return nil, fmt.Errorf("oathkeeper not ready after 30s: %w; its output: %s", err, oneLine(o.out.String()))
		}
	}
}

// Close stops Oathkeeper (SIGTERM, then SIGKILL after 5 s) and removes its
// files.
func (o *oathkeeper) Close() {
	if o.cmd != nil && o.cmd.Process != nil {
		_ = o.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-o.exited:
		case <-time.After(5 * time.Second):
			_ = o.cmd.Process.Kill()
			<-o.exited
		}
	}
	_ = os.RemoveAll(o.dir)
}

// oathkeeperVersion is what `oathkeeper version` says its version is.
func oathkeeperVersion(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("oathkeeper version: %w: %s", err, oneLine(string(out)))
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("oathkeeper version: no version in %q", oneLine(string(out)))
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// smallEnv is the environment of a server the bench starts: Ory's servers
// read configuration from environment variables, so the caller's must not
// leak into them.
func smallEnv() []string {
	env := []string{"SQA_OPT_OUT=true"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// lockedBuffer collects a process's output, safe for concurrent writes,
// keeping the last 8 KiB.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if over := l.b.Len() - 8<<10; over > 0 {
		l.b.Next(over)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
