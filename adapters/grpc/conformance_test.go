package orygrpc_test

import (
	"testing"

	"github.com/oryguard/oryguard/adapters/grpc/orygrpctest"
	"github.com/oryguard/oryguard/core/conformance"
)

// TestConformance runs the RPC side of oryguard's conformance suite
// (core/conformance) through this adapter over a real gRPC connection:
// every API-client row of the HTTP table as a status code, with the session
// cache off and on, and the hostile credentials.
func TestConformance(t *testing.T) { conformance.RunRPC(t, orygrpctest.Target{}) }
