package oryfiber_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

const cookieValue = "valid-cookie"

func setup(t *testing.T) (*orytest.Server, *core.Guard) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(cookieValue, orytest.ActiveSession("s-1", "ada@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ory, guard
}

// TestRealServerReusesRequestMemory serves many users at once through a
// real fasthttp listener (which reuses request memory between requests),
// so that the race detector and the per-user check catch any request
// string or *fiber.Ctx kept past its handler.
func TestRealServerReusesRequestMemory(t *testing.T) {
	ory, guard := setup(t)
	const users = 40
	for i := range users {
		ory.Session(fmt.Sprintf("cookie-%02d", i), orytest.ActiveSession(fmt.Sprintf("s-%02d", i), fmt.Sprintf("u%02d@example.com", i)))
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/me", oryfiber.Middleware(guard), func(c *fiber.Ctx) error {
		s, _ := oryfiber.Session(c)
		return c.SendString(s.Id)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	t.Cleanup(func() {
		hc.CloseIdleConnections() // fasthttp's Shutdown waits for open keep-alive connections
		_ = app.ShutdownWithTimeout(5 * time.Second)
	})

	var wg sync.WaitGroup
	for round := range 3 {
		for i := range users {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/me", nil)
				req.Header.Set("Cookie", fmt.Sprintf("app=%d; ory_kratos_session=cookie-%02d", round, i))
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if want := fmt.Sprintf("s-%02d", i); resp.StatusCode != http.StatusOK || string(body) != want {
					t.Errorf("user %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
				}
			})
		}
	}
	wg.Wait()
}
