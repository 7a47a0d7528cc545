package main

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func TestApp(t *testing.T) {
	apptest.Run(t, func(t *testing.T, guard *core.Guard, ory *ui.Ory) string {
		srv := httptest.NewServer(routes(echo.New(), guard, ory))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
