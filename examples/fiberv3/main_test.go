package main

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func TestApp(t *testing.T) {
	apptest.Run(t, func(t *testing.T, guard *core.Guard, ory *ui.Ory) string {
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		app := newApp(guard, ory)
		go func() { _ = app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
		t.Cleanup(func() { _ = app.Shutdown() })
		return "http://" + ln.Addr().String()
	})
}
