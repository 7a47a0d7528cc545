package release_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/release"
)

// notFramework lists modules under adapters/ that are not a web framework
// adapter (a hook or a storage tier): they need no README snippet. Every
// other adapter's README needs one.
var notFramework = map[string]string{
	"otel":  "OpenTelemetry hooks, used with a framework adapter",
	"redis": "the shared Redis tier needs a Redis server",
	"proxy": "the in-app Ory proxy is mounted beside a framework adapter",
}

// TestGoGet is the check that a new user's go get works: every library
// module at the current version is packed into a file-based module proxy,
// and for each snippet of the root README and of each adapter's README a
// fresh module outside the repository (no go.work, no replace) go-gets the
// adapter from it, builds the snippet and serves requests through it
// against the fake Ory.
func TestGoGet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds one program per adapter")
	}
	root := repoRoot(t)
	version, err := release.ReadVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := release.Modules(root)
	if err != nil {
		t.Fatal(err)
	}
	libs := release.Libraries(mods)
	snippets := readSnippets(t, root, libs)
	checkSnippetCoverage(t, libs, snippets)

	work := t.TempDir()
	proxy := filepath.Join(work, "proxy")
	if err := release.Pack(root, libs, version, proxy); err != nil {
		t.Fatal(err)
	}
	env := newUserEnv(t, work, proxy, root, libs)

	for i, s := range snippets {
		t.Run(s.File+"/"+s.Name, func(t *testing.T) {
			t.Parallel() // the builds wait on disk and network as much as on CPU
			checkSnippet(t, env, filepath.Join(work, fmt.Sprintf("app-%d-%s", i, s.Name)), version, s)
		})
	}
}

// fileSnippet is a snippet with the README it came from (relative to the
// repository root, slash-separated).
type fileSnippet struct {
	File string
	release.Snippet
}

// readSnippets reads the snippets of the root README and of every adapter
// module's README (an adapter without a README has none).
func readSnippets(t *testing.T, root string, libs []release.Module) []fileSnippet {
	t.Helper()
	files := []string{"README.md"}
	for _, m := range libs {
		if name, ok := strings.CutPrefix(m.Dir, "adapters/"); ok && !strings.Contains(name, "/") {
			files = append(files, m.Dir+"/README.md")
		}
	}
	var out []fileSnippet
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if errors.Is(err, os.ErrNotExist) && f != "README.md" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		snippets, err := release.Snippets(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, s := range snippets {
			out = append(out, fileSnippet{File: f, Snippet: s})
		}
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := release.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkSnippetCoverage: every snippet names an adapter module, and every
// framework adapter's own README has a snippet named for it.
func checkSnippetCoverage(t *testing.T, libs []release.Module, snippets []fileSnippet) {
	t.Helper()
	adapters := map[string]bool{}
	for _, m := range libs {
		if name, ok := strings.CutPrefix(m.Dir, "adapters/"); ok && !strings.Contains(name, "/") {
			adapters[name] = true
		}
	}
	have := map[string]bool{}
	for _, s := range snippets {
		if !adapters[s.Name] {
			t.Errorf("%s line %d: snippet %q names no module adapters/%s", s.File, s.Line, s.Name, s.Name)
		}
		if s.File == "adapters/"+s.Name+"/README.md" {
			have[s.Name] = true
		}
	}
	for name := range adapters {
		if _, ok := notFramework[name]; !have[name] && !ok {
			t.Errorf("adapters/%s/README.md has no snippet: add a complete program after a `<!-- snippet: %s -->` line (or list it in notFramework if it is no framework adapter)", name, name)
		}
	}
	if len(snippets) == 0 {
		t.Fatal("no README has a marked snippet")
	}
}

// newUserEnv is the environment of a new user's go command: no workspace,
// the packed proxy first and the normal proxy after it, no checksum
// database for oryguard's own (not yet published) modules, a module cache
// of its own so that no packed module outlives the test. Modules already
// in the machine's module cache are served from it (it is laid out as a
// proxy) to spare the network, and go.sum starts with the hashes the
// library modules' go.sum files already hold.
func newUserEnv(t *testing.T, work, proxy, root string, libs []release.Module) []string {
	t.Helper()
	normal := goEnv(t, "GOPROXY")
	cache := goEnv(t, "GOMODCACHE")
	proxies := "file://" + filepath.ToSlash(proxy)
	if cache != "" {
		if _, err := os.Stat(filepath.Join(cache, "cache", "download")); err == nil {
			proxies += ",file://" + filepath.ToSlash(filepath.Join(cache, "cache", "download"))
		}
	}
	if normal != "" && normal != "off" {
		proxies += "," + normal
	}
	drop := map[string]bool{"GOWORK": true, "GOFLAGS": true, "GOPROXY": true, "GONOSUMDB": true, "GONOPROXY": true,
		"GOPRIVATE": true, "GOMODCACHE": true, "GOINSECURE": true, "GOTOOLCHAIN": true, "GOSUMDB": false}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY="+proxies,
		"GONOSUMDB="+release.ModulePrefix,
		"GOMODCACHE="+filepath.Join(work, "modcache"),
		"GOTOOLCHAIN=local",
	)
	var sums strings.Builder
	for _, m := range libs {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.Dir), "go.sum"))
		if err == nil {
			sums.Write(data)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "seed.sum"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return env
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func run(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func checkSnippet(t *testing.T, env []string, app, version string, s fileSnippet) {
	adapter := release.ModulePrefix + "/adapters/" + s.Name
	core := release.ModulePrefix + "/core"
	if n := strings.Count(s.Code, `":8080"`); n != 1 {
		t.Fatalf("%s line %d: snippet %q must listen on \":8080\" exactly once (found %d)", s.File, s.Line, s.Name, n)
	}
	work := filepath.Dir(app)

	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, env, app, "go", "mod", "init", "example.com/"+s.Name+"app")
	seed, err := os.ReadFile(filepath.Join(work, "seed.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "go.sum"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, env, app, "go", "get", adapter+"@"+version)

	addr := freeAddr(t)
	code := strings.Replace(s.Code, `":8080"`, `"`+addr+`"`, 1)
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(app, "app")
	run(t, env, app, "go", "build", "-trimpath", "-o", bin, ".")

	// What a user's build resolved: both modules at the version, from the
	// proxy (a replace would show as "=>").
	for _, m := range []string{adapter, core} {
		got := strings.TrimSpace(run(t, env, app, "go", "list", "-m", m))
		if got != m+" "+version {
			t.Fatalf("go list -m %s = %q, want %q", m, got, m+" "+version)
		}
	}

	checkServes(t, bin, addr, version, s.Name)
}

// freeAddr picks a free loopback port for the snippet to listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// checkServes runs the built snippet against the fake Ory and probes it as
// its kind of program expects (see probeFor); Ory hears the guard's
// User-Agent at the version.
func checkServes(t *testing.T, bin, addr, version, name string) {
	t.Helper()
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("cookie-of-ada", orytest.ActiveSession("s-ada", "ada@example.com"))
	ory.Session("token-of-ada", orytest.ActiveSession("s-ada", "ada@example.com"))
	var mu sync.Mutex
	var agents []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		ory.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "ORY_SDK_URL="+front.URL, "GIN_MODE=release")
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("the program failed: %v", err)
		}
		if t.Failed() {
			t.Logf("program output:\n%s", logs.String())
		}
	}()
	waitListening(t, addr, done)

	probeFor(name)(t, addr, front.URL)

	mu.Lock()
	defer mu.Unlock()
	if len(agents) == 0 {
		t.Fatal("no request reached the fake Ory")
	}
	for _, ua := range agents {
		if ua != "oryguard/"+version {
			t.Errorf("Ory got User-Agent %q, want %q", ua, "oryguard/"+version)
		}
	}
}

// probeFor returns how a snippet's program is probed: the RPC adapters'
// programs serve the health service's Check over gRPC or Connect, every
// other program serves GET /dashboard to browsers.
func probeFor(name string) func(t *testing.T, addr, oryURL string) {
	switch name {
	case "grpc":
		return probeGRPC
	case "connect":
		return probeConnect
	default:
		return probeDashboard
	}
}

// probeDashboard: anonymous → 303 to the login flow, a session cookie → 200
// with the traits, an unknown cookie → 303.
func probeDashboard(t *testing.T, addr, oryURL string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + addr + "/dashboard"
	tests := []struct {
		name     string
		cookie   string
		status   int
		location string // prefix
		body     string // substring
	}{
		{name: "anonymous browser", status: http.StatusSeeOther, location: oryURL + "/self-service/login/browser?return_to="},
		{name: "session cookie", cookie: "ory_kratos_session=cookie-of-ada", status: http.StatusOK, body: "ada@example.com"},
		{name: "unknown cookie", cookie: "ory_kratos_session=nobody", status: http.StatusSeeOther, location: oryURL + "/self-service/login/browser?return_to="},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		if tt.cookie != "" {
			req.Header.Set("Cookie", tt.cookie)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d (body %q)", tt.name, resp.StatusCode, tt.status, body)
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, tt.location) || (tt.location == "" && loc != "") {
			t.Errorf("%s: Location %q, want prefix %q", tt.name, loc, tt.location)
		}
		if !strings.Contains(body, tt.body) {
			t.Errorf("%s: body %q does not contain %q", tt.name, body, tt.body)
		}
	}
}

// rpcCases are the calls both RPC probes make to grpc.health.v1.Health/Check,
// which the READMEs' programs guard: a known session token is let in, no
// token or an unknown one is Unauthenticated.
var rpcCases = []struct {
	name  string
	token string
	ok    bool
}{
	{name: "session token", token: "token-of-ada", ok: true},
	{name: "no credential"},
	{name: "unknown token", token: "nobody"},
}

// healthCheck is the path of grpc.health.v1.Health/Check.
const healthCheck = "/grpc.health.v1.Health/Check"

// probeGRPC calls Check over gRPC (HTTP/2 without TLS, as a native client
// does), framing the empty HealthCheckRequest by hand so that this module
// needs no gRPC dependency: OK (grpc-status 0) with the SERVING answer for
// a session token, Unauthenticated (16) otherwise.
func probeGRPC(t *testing.T, addr, _ string) {
	t.Helper()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 30 * time.Second}
	for _, tt := range rpcCases {
		// A gRPC message: not compressed, length 0 (an empty HealthCheckRequest).
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+healthCheck, bytes.NewReader([]byte{0, 0, 0, 0, 0}))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		if tt.token != "" {
			req.Header.Set("X-Session-Token", tt.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: read body: %v", tt.name, err)
		}
		code := resp.Trailer.Get("Grpc-Status")
		if code == "" { // a trailers-only answer carries the status in its headers
			code = resp.Header.Get("Grpc-Status")
		}
		want := "16"
		if tt.ok {
			want = "0"
		}
		if code != want {
			t.Errorf("%s: grpc-status %q, want %q (message %q)", tt.name, code, want, resp.Trailer.Get("Grpc-Message")+resp.Header.Get("Grpc-Message"))
		}
		// HealthCheckResponse{status: SERVING} is field 1, varint 1.
		serving := []byte{0, 0, 0, 0, 2, 0x08, 0x01}
		if tt.ok && !bytes.Equal(body, serving) {
			t.Errorf("%s: message %x, want %x", tt.name, body, serving)
		}
	}
}

// probeConnect calls Check with the Connect protocol over HTTP/1.1 and JSON,
// as a browser or curl would: 200 with SERVING for a session token, 401 with
// the Connect code "unauthenticated" otherwise.
func probeConnect(t *testing.T, addr, _ string) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, tt := range rpcCases {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+healthCheck, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tt.token != "" {
			req.Header.Set("X-Session-Token", tt.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body := readAll(t, resp)
		status, want := http.StatusUnauthorized, `"code":"unauthenticated"`
		if tt.ok {
			status, want = http.StatusOK, "SERVING_STATUS_SERVING"
		}
		if resp.StatusCode != status || !strings.Contains(strings.ReplaceAll(body, " ", ""), want) {
			t.Errorf("%s: status %d body %q, want %d with %s", tt.name, resp.StatusCode, body, status, want)
		}
	}
}

// waitListening waits until the program accepts connections or exits.
func waitListening(t *testing.T, addr string, done <-chan error) {
	t.Helper()
	for i := 0; ; i++ {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the program exited before listening on %s: %v", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 600 { // 30 s: the program is stuck, not slow
			t.Fatalf("the program does not listen on %s: %v", addr, err)
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b.String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	if err != nil {
		return n, fmt.Errorf("buffer: %w", err)
	}
	return n, nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
