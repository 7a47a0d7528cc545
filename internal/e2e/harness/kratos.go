package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// errTail is how much of Kratos' log an error message quotes.
const errTail = 4 << 10

// KratosBinaryEnv is the environment variable that overrides the Kratos binary.
const KratosBinaryEnv = "ORYGUARD_KRATOS_BIN"

// KratosOptions configure a Kratos server. The zero value is usable.
type KratosOptions struct {
	// Binary is the Kratos executable. Default: $ORYGUARD_KRATOS_BIN, else
	// <repo root>/.cache/bin/kratos, where the repo root is the nearest
	// folder above the working directory that contains go.work.
	Binary string
	// PublicPort and AdminPort are the ports on 127.0.0.1; 0 picks a free
	// port at start. Restart keeps the ports chosen at start.
	PublicPort int
	AdminPort  int
	// UIURL is where the login, registration, error and settings pages live
	// (UIURL+"/login", "/registration", "/error", "/settings").
	// Default: http://127.0.0.1:4455.
	UIURL string
	// DefaultReturnURL is selfservice.default_browser_return_url.
	// Default: UIURL+"/".
	DefaultReturnURL string
	// AllowedReturnURLs is selfservice.allowed_return_urls. Default: UIURL.
	AllowedReturnURLs []string
	// SessionLifespan is session.lifespan. Default: 1h.
	SessionLifespan time.Duration
	// CacheableSessions sets feature_flags.cacheable_sessions: whoami then
	// answers with Ory-Session-Cache-For (the time left until the session
	// expires, capped by CacheableSessionsMaxAge when that is positive).
	CacheableSessions       bool
	CacheableSessionsMaxAge time.Duration
	// Persistent stores data in a SQLite file in the server's temporary
	// folder instead of in memory, so that sessions survive Restart.
	Persistent bool
	// LogWriter receives Kratos' stdout and stderr. Default: discarded; the
	// last part is always kept for error messages and LogTail.
	LogWriter io.Writer
	// LogLevel is Kratos' log level. Default: info.
	LogLevel string
	// ReadyTimeout bounds the wait for Kratos to report ready. Default: 60s.
	ReadyTimeout time.Duration
	// Logger receives the harness's own messages. Default: slog.Default().
	Logger *slog.Logger
}

// Kratos is a running Kratos process. Its methods are safe for concurrent
// use.
type Kratos struct {
	opts       KratosOptions
	dir        string
	configPath string
	publicURL  string
	adminURL   string
	out        io.Writer
	tail       *tailBuffer
	health     *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, set before exited is closed
	stopped bool
}

// StartKratos writes a configuration into a new temporary folder, starts Kratos and
// waits until its public and admin APIs report ready. With KratosOptions.Persistent
// it first runs Kratos' SQL migrations; with the default in-memory database
// Kratos migrates on every start by itself.
func StartKratos(ctx context.Context, opts KratosOptions) (*Kratos, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("kratos binary %s: %w (run `make kratos` to build it, or set %s)", opts.Binary, err, KratosBinaryEnv)
	}
	// A port FreePort found free can be taken by another test process (the
	// e2e packages run in parallel) before Kratos binds it: when the harness
	// chose the ports, a start that lost that race is tried again on new
	// ones.
	chosen := opts.PublicPort == 0 || opts.AdminPort == 0
	for attempt := 1; ; attempt++ {
		o := opts
		for _, p := range []*int{&o.PublicPort, &o.AdminPort} {
			if *p == 0 {
				if *p, err = FreePort(); err != nil {
					return nil, err
				}
			}
		}
		s, err := startKratos(ctx, o)
		if err == nil || !chosen || attempt == 3 || !errors.Is(err, errPortTaken) {
			return s, err
		}
		opts.Logger.Info("kratos lost its port to another process; trying other ports", "attempt", attempt)
	}
}

// errPortTaken marks a start that failed because a port was in use.
var errPortTaken = errors.New("a port was taken")

// startKratos starts Kratos on the ports in opts.
func startKratos(ctx context.Context, opts KratosOptions) (*Kratos, error) {
	dir, err := os.MkdirTemp("", "oryguard-kratos-*")
	if err != nil {
		return nil, fmt.Errorf("create kratos work folder: %w", err)
	}
	dsn := "memory"
	if opts.Persistent {
		dsn = "sqlite://" + filepath.ToSlash(filepath.Join(dir, "db.sqlite")) + "?_fk=true&mode=rwc"
	}
	configPath, err := writeConfig(dir, opts, opts.PublicPort, opts.AdminPort, dsn)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	s := &Kratos{
		opts:       opts,
		dir:        dir,
		configPath: configPath,
		publicURL:  baseURL(opts.PublicPort),
		adminURL:   baseURL(opts.AdminPort),
		tail:       &tailBuffer{max: 64 << 10},
		health:     &http.Client{Timeout: 2 * time.Second},
	}
	s.out = s.tail
	if opts.LogWriter != nil {
		s.out = io.MultiWriter(opts.LogWriter, s.tail)
	}

	if opts.Persistent {
		if err := s.migrate(ctx); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.launch(ctx); err != nil {
		_ = os.RemoveAll(dir)
		if strings.Contains(s.tail.String(), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	return s, nil
}

// StartKratosT starts Kratos for a test, stops it when the test ends and fails the
// test if Kratos does not start. It skips the test in -short mode. When the
// test failed, the tail of Kratos' log is added to the test log.
func StartKratosT(t testing.TB, opts KratosOptions) *Kratos {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Kratos in -short mode")
	}
	s, err := StartKratos(t.Context(), opts)
	if err != nil {
		t.Fatalf("start kratos: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kratos log (tail):\n%s", s.LogTail())
		}
		if err := s.Stop(); err != nil {
			t.Errorf("stop kratos: %v", err)
		}
	})
	return s
}

// PublicURL is the base URL of Kratos' public API, without a trailing slash.
func (s *Kratos) PublicURL() string { return s.publicURL }

// AdminURL is the base URL of Kratos' admin API, without a trailing slash.
func (s *Kratos) AdminURL() string { return s.adminURL }

// Exited is closed when the Kratos process that runs now exits, whether it
// was stopped or died. After Restart, call it again.
func (s *Kratos) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

// LogTail returns the last part of Kratos' output.
func (s *Kratos) LogTail() string { return s.tail.String() }

// Stop ends Kratos (SIGTERM, then SIGKILL after five seconds) and removes its
// temporary folder. Calling it again does nothing.
func (s *Kratos) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	err := s.stopProcess()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove kratos work folder: %w", rmErr))
	}
	return err
}

// Restart stops Kratos and starts it again on the same ports with the same
// configuration. With the default in-memory database all identities and
// sessions are lost; with KratosOptions.Persistent they are kept.
func (s *Kratos) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("restart kratos: server was stopped")
	}
	if err := s.stopProcess(); err != nil {
		return fmt.Errorf("restart kratos: %w", err)
	}
	if err := s.launch(ctx); err != nil {
		return fmt.Errorf("restart kratos: %w", err)
	}
	return nil
}

// migrate runs `kratos migrate sql` against the configured database.
func (s *Kratos) migrate(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, s.opts.Binary, "migrate", "sql", "-e", "--yes", "-c", s.configPath)
	cmd.Env = kratosEnv()
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kratos migrate sql: %w\nkratos log (tail):\n%s", err, s.tail.last(errTail))
	}
	return nil
}

// launch starts the Kratos process and waits until it is ready. s.mu is held.
func (s *Kratos) launch(ctx context.Context) error {
	began := time.Now()
	//nolint:noctx // Kratos outlives the start context; Stop ends it.
	cmd := exec.Command(s.opts.Binary, "serve", "-c", s.configPath, "--dev", "--sqa-opt-out", "--watch-courier=false")
	cmd.Env = kratosEnv()
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kratos %s: %w", s.opts.Binary, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()

	if err := s.waitReady(ctx); err != nil {
		_ = s.stopProcess()
		return fmt.Errorf("%w\nkratos log (tail):\n%s", err, s.tail.last(errTail))
	}
	s.opts.Logger.Info("kratos ready", "public", s.publicURL, "admin", s.adminURL,
		"persistent", s.opts.Persistent, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// waitReady polls the health endpoints of both APIs. s.mu is held.
func (s *Kratos) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ready(ctx, s.adminURL) && s.ready(ctx, s.publicURL) {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("kratos exited before it was ready: %w", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for kratos to be ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Kratos) ready(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health/ready", nil)
	if err != nil {
		return false
	}
	resp, err := s.health.Do(req) // the admin API redirects to /admin/health/ready
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopProcess ends the running process, if any. s.mu is held.
func (s *Kratos) stopProcess() error {
	if s.cmd == nil {
		return nil
	}
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = cmd.Process.Kill()
	}
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	s.opts.Logger.Warn("kratos ignored SIGTERM, killing it", "pid", cmd.Process.Pid)
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill kratos: %w", err)
	}
	<-exited
	return nil
}

func (o KratosOptions) withDefaults() (KratosOptions, error) {
	if o.Binary == "" {
		o.Binary = os.Getenv(KratosBinaryEnv)
	}
	if o.Binary == "" {
		root, err := RepoRoot()
		if err != nil {
			return o, err
		}
		o.Binary = filepath.Join(root, ".cache", "bin", "kratos")
	}
	if o.UIURL == "" {
		o.UIURL = "http://127.0.0.1:4455"
	}
	o.UIURL = strings.TrimSuffix(o.UIURL, "/")
	if o.DefaultReturnURL == "" {
		o.DefaultReturnURL = o.UIURL + "/"
	}
	if len(o.AllowedReturnURLs) == 0 {
		o.AllowedReturnURLs = []string{o.UIURL}
	}
	if o.SessionLifespan <= 0 {
		o.SessionLifespan = time.Hour
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// RepoRoot is the oryguard repository's root: the nearest folder above the
// working directory that holds go.work.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.work above %s; set %s to the kratos binary", wd, KratosBinaryEnv)
		}
		dir = parent
	}
}

// kratosEnv is a small environment for Kratos: it reads configuration from
// environment variables (DSN, SERVE_PUBLIC_PORT, ...), so the caller's
// environment must not leak into it.
func kratosEnv() []string {
	env := []string{"SQA_OPT_OUT=true"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago, for a
// server that must know its URL before it starts.
func FreePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return b.last(b.max) }

// last returns at most the last n bytes, starting at a line break if it cuts.
func (b *tailBuffer) last(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) <= n {
		return string(b.buf)
	}
	s := string(b.buf[len(b.buf)-n:])
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
