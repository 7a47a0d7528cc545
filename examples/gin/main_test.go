package main

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/apptest"
)

func TestApp(t *testing.T) {
	gin.SetMode(gin.TestMode)
	apptest.Run(t, func(t *testing.T, guard *core.Guard) string {
		srv := httptest.NewServer(newRouter(guard, nil))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
