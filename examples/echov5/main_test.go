package main

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
)

func TestApp(t *testing.T) {
	apptest.Run(t, func(t *testing.T, guard *core.Guard) string {
		srv := httptest.NewServer(routes(echo.New(), guard))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
