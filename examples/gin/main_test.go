package main

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

func TestApp(t *testing.T) {
	gin.SetMode(gin.TestMode)
	apptest.Run(t, func(t *testing.T, guard *core.Guard, ory *ui.Ory) string {
		srv := httptest.NewServer(newRouter(guard, ory, nil))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
