package oryfiber_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	oryfiber "github.com/oryguard/oryguard/adapters/fiberv3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestRealServerReusesRequestMemory serves many users at once through a
// real fasthttp listener, which reuses request buffers and contexts between
// requests: the race detector and the per-user answers catch any request
// string, context or fiber.Ctx kept past its handler.
func TestRealServerReusesRequestMemory(t *testing.T) {
	f := newFixture(t)
	const users, rounds = 40, 3
	for i := range users {
		f.ory.Session(fmt.Sprintf("cookie-%02d", i), orytest.ActiveSession(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d@example.com", i)))
	}
	app := fiber.New()
	app.Get("/me", oryfiber.Middleware(f.guard), func(c fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		fromCtx, _ := core.SessionFromContext(c.Context())
		return c.SendString(s.Id + " " + fromCtx.Id)
	})
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	t.Cleanup(func() {
		hc.CloseIdleConnections() // fasthttp's shutdown waits for open keep-alive connections
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})

	// Every request of every round at once; each answer is checked against
	// the user whose cookie it carried.
	type answer struct {
		user   int
		status int
		body   string
		err    error
	}
	answers := make(chan answer, users*rounds)
	var wg sync.WaitGroup
	for n := range users * rounds {
		wg.Go(func() {
			user := n % users
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ln.Addr().String()+"/me", nil)
			req.Header.Set("Cookie", fmt.Sprintf("app=%d; ory_kratos_session=cookie-%02d", n/users, user))
			a := answer{user: user}
			resp, err := hc.Do(req)
			if a.err = err; err == nil {
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				a.status, a.body = resp.StatusCode, string(b)
			}
			answers <- a
		})
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if want := fmt.Sprintf("s-%02d s-%02d", a.user, a.user); a.err != nil || a.status != http.StatusOK || a.body != want {
			t.Errorf("user %d: %d %q %v, want 200 %q", a.user, a.status, a.body, a.err, want)
		}
	}
}
