// Package fleet runs several oryguard app instances as separate processes
// against one Kratos and one Redis, with a counting proxy in front of
// Kratos: the machinery of the fleet tests (shared session tier,
// fleet-wide logout) and of the fleet rows of make bench. Kratos and Redis
// themselves come from package harness.
package fleet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// BuildApp builds cmd/fleetapp into dir and returns the binary's path.
func BuildApp(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "fleetapp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/oryguard/oryguard/internal/e2e/cmd/fleetapp")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build fleetapp: %w\n%s", err, out.String())
	}
	return bin, nil
}

// Instance is one running app process.
type Instance struct {
	// URL is the instance's base URL on 127.0.0.1.
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// Start runs the app binary with cfg and waits until it listens.
func Start(ctx context.Context, bin string, cfg AppConfig) (*Instance, error) {
	//nolint:noctx // the instance outlives ctx; Stop ends it.
	cmd := exec.Command(bin, cfg.args()...)
	cmd.Env = os.Environ()
	in := &Instance{cmd: cmd, exited: make(chan struct{}), log: &syncBuffer{}}
	cmd.Stderr = in.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("fleetapp stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fleetapp: %w", err)
	}
	go func() { _ = cmd.Wait(); close(in.exited) }()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				urls <- u
			}
		}
	}()
	select {
	case in.URL = <-urls:
		return in, nil
	case <-in.exited:
		return nil, fmt.Errorf("fleetapp exited before listening:\n%s", in.Log())
	case <-ctx.Done():
		in.Stop()
		return nil, fmt.Errorf("wait for fleetapp: %w", ctx.Err())
	case <-time.After(20 * time.Second):
		in.Stop()
		return nil, errors.New("fleetapp did not listen within 20s")
	}
}

// Log is what the instance wrote to stderr.
func (in *Instance) Log() string { return in.log.String() }

// Stop ends the instance (SIGTERM, then SIGKILL after 5 s).
func (in *Instance) Stop() {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.exited
	}
}

// Client is an HTTP client for the instances: no redirects followed, many
// idle connections.
var Client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
}

// Me asks the instance's /me with a session token and returns the status.
func (in *Instance) Me(ctx context.Context, token string) (int, error) {
	return in.do(ctx, http.MethodGet, "/me", token)
}

// Logout logs the token out through the instance (native logout).
func (in *Instance) Logout(ctx context.Context, token string) (int, error) {
	return in.do(ctx, http.MethodGet, "/logout", token)
}

// Forget asks the instance to forget a session on every instance.
func (in *Instance) Forget(ctx context.Context, sessionID string) (int, error) {
	return in.do(ctx, http.MethodPost, "/forget?id="+url.QueryEscape(sessionID), "")
}

func (in *Instance) do(ctx context.Context, method, path, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, in.URL+path, nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Proxy is a reverse proxy in front of Kratos' public API that counts the
// whoami calls reaching Kratos, and can hold one whoami answer (HoldWhoami).
type Proxy struct {
	// URL is the proxy's base URL: the instances' Ory URL.
	URL    string
	srv    *httptest.Server
	whoami atomic.Int64

	mu   sync.Mutex
	hold *heldAnswer // the next whoami answer to hold, when armed
}

// heldAnswer is one armed HoldWhoami.
type heldAnswer struct {
	held, release chan struct{}
}

// HoldWhoami makes the proxy hold the next whoami answer: the call reaches
// Kratos at once, and Kratos' answer is kept from the instance until
// release is called. held is closed once Kratos has answered. It forces "an
// answer computed before a revocation arrives after it" without sleeps.
func (p *Proxy) HoldWhoami() (held <-chan struct{}, release func()) {
	h := &heldAnswer{held: make(chan struct{}), release: make(chan struct{})}
	p.mu.Lock()
	p.hold = h
	p.mu.Unlock()
	return h.held, sync.OnceFunc(func() { close(h.release) })
}

// takeHold returns the armed hold, disarming it.
func (p *Proxy) takeHold() *heldAnswer {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hold
	p.hold = nil
	return h
}

// NewProxy starts a counting proxy to target.
func NewProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sessions/whoami" {
			rp.ServeHTTP(w, r)
			return
		}
		p.whoami.Add(1)
		h := p.takeHold()
		if h == nil {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		close(h.held)
		<-h.release
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	p.URL = p.srv.URL
	return p, nil
}

// Whoami is the number of whoami calls so far.
func (p *Proxy) Whoami() int64 { return p.whoami.Load() }

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
