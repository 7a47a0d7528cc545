// Package redistest starts a throwaway redis-server (Debian's package, or
// any redis-server or valkey-server on PATH) on a free loopback port with
// persistence off, or a three-node Redis Cluster (StartCluster), for tests
// of the shared session tier, and a StallProxy that holds one request or
// reply on its way to Redis so that a test can force a race without sleeps.
// It is what oryguard's own tests use; it needs no Docker.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinaryEnv overrides the server binary (default: redis-server on PATH).
const BinaryEnv = "ORYGUARD_REDIS_BIN"

// Server is a running redis-server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr  string
	bin   string
	dir   string
	extra []string // arguments after the defaults

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs redis-server on a free port of 127.0.0.1 and waits until it
// answers PING.
func Start(ctx context.Context) (*Server, error) {
	return start(ctx)
}

// start is Start with extra redis-server arguments.
func start(ctx context.Context, extra ...string) (*Server, error) {
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, fmt.Errorf("redis-server not found (apt-get install redis-server, or set %s): %w", BinaryEnv, err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oryguard-redis-*")
	if err != nil {
		return nil, fmt.Errorf("create redis work folder: %w", err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, dir: dir, extra: extra}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.launch(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// StartT starts a server for a test and stops it when the test ends. It
// skips the test in -short mode.
func StartT(t testing.TB) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Redis in -short mode")
	}
	s, err := Start(t.Context())
	if err != nil {
		t.Fatalf("start redis: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop redis: %v", err)
		}
	})
	return s
}

// launch starts the process; s.mu is held.
func (s *Server) launch(ctx context.Context) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"}
	//nolint:noctx,gosec // the server outlives the start context; Stop ends it. bin is redis-server or the caller's choice.
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(ctx, s.Addr) == nil {
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited before it answered on %s (port taken?)", s.Addr)
		case <-ctx.Done():
			s.stopLocked(syscall.SIGKILL)
			return fmt.Errorf("wait for redis: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stopLocked(syscall.SIGKILL)
			return fmt.Errorf("redis-server did not answer on %s within 10s", s.Addr)
		}
	}
}

// Kill ends the server at once (SIGKILL), as a crash would. Restart brings
// it back on the same port, empty.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGKILL)
}

// Restart starts the server again on the same port (after Kill, or kills
// it first). It comes back empty.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGKILL)
	return s.launch(ctx)
}

// Stop ends the server (SIGTERM, then SIGKILL) and removes its folder.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGTERM)
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove redis work folder: %w", err)
	}
	return nil
}

func (s *Server) stopLocked(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// ping sends one inline PING.
func ping(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial redis: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New("ping redis: unexpected answer " + strings.TrimSpace(line))
	}
	return nil
}

func freePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
