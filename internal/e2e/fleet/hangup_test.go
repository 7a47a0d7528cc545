package fleet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/redis/go-redis/v9"
)

// logBuffer is a slog destination safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hungUp ties the request's user context to the client's connection, as an
// app that stops work for clients that left does: the context is canceled
// once the client has closed its side (fasthttp itself never tells).
func hungUp(c *fiber.Ctx) error {
	ctx, cancel := context.WithCancel(c.UserContext())
	defer cancel()
	conn := c.Context().Conn()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		return fmt.Errorf("waiting for the client to hang up: %w", err)
	}
	cancel() // the client is gone
	c.SetUserContext(ctx)
	return c.Next()
}

// Issue 21, point 2, through a real Fiber v2 server: clients that send a
// junk but well-formed session cookie and hang up must not make the shared
// tier take a healthy Redis out of the fleet.
func TestHungUpFiberClientsKeepRedisUp(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping a test against a real Redis in -short mode")
	}
	rs := harness.StartRedisT(t)
	ory := orytest.NewServer()
	defer ory.Close()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, DialTimeout: 100 * time.Millisecond, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer rdb.Close()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tier, err := oryredis.New(oryredis.Config{Client: rdb, Secrets: []string{fleetSecret}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer tier.Close()
	guard, err := core.New(core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Minute, Shared: tier}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer guard.Close()

	const clients = 20
	served := make(chan struct{}, clients)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", hungUp, func(c *fiber.Ctx) error {
		defer func() { served <- struct{}{} }()
		return c.Next()
	}, oryfiber.Middleware(guard), func(c *fiber.Ctx) error { return c.SendString("in") })
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()

	for i := range clients {
		c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: app\r\nCookie: ory_kratos_session=junk-%d-%s\r\n\r\n", i, rand.Text())
		_ = c.Close()
	}
	for range clients {
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("a request never reached the guard")
		}
	}
	if n := strings.Count(logs.String(), "Redis unreachable"); n != 0 {
		t.Fatalf("clients that hung up took Redis out of the fleet (%d log lines):\n%s", n, logs.String())
	}
	if _, err := tier.Get(context.Background(), [][]byte{[]byte(rand.Text() + "012345")}); err != nil {
		t.Fatalf("the tier no longer calls Redis: %v", err)
	}
	if n := tier.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers on the tier, want the guard's one", n)
	}
}
