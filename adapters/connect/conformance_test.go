package oryconnect_test

import (
	"testing"

	"github.com/oryguard/oryguard/adapters/connect/oryconnecttest"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs the RPC side of oryguard's conformance suite
// (core/conformance) through this adapter on a real server: every
// API-client row of the HTTP table as a status code, with the session
// cache off and on, and the hostile credentials, over Connect (HTTP/1.1
// and h2c), gRPC-Web and gRPC.
func TestConformance(t *testing.T) { conformance.RunRPC(t, oryconnecttest.Targets()...) }
