package oryhttp_test

import (
	"testing"

	"github.com/oryguard/oryguard/adapters/nethttp/oryhttptest"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs oryguard's conformance suite (core/conformance)
// through this adapter: every row of the table, with the session cache off
// and on, then hostile input on a real server.
func TestConformance(t *testing.T) { conformance.Run(t, oryhttptest.Target{}) }
