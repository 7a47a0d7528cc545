package orygin_test

import (
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/oryguard/oryguard/adapters/gin/orygintest"
	"github.com/oryguard/oryguard/core/conformance"
)

func init() { gin.SetMode(gin.ReleaseMode) } // no debug route listing on stdout

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, orygintest.Target{}) }
