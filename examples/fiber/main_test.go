package main

import (
	"net"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func TestApp(t *testing.T) {
	apptest.Run(t, func(t *testing.T, guard *core.Guard, ory *ui.Ory) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		app := newApp(guard, ory)
		go func() { _ = app.Listener(ln) }()
		t.Cleanup(func() { _ = app.Shutdown() })
		return "http://" + ln.Addr().String()
	})
}
