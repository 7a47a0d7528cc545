package orygrpc_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestPermit: a unary method's permission check reads its object from the
// generated request message; a Permit typed for another message denies.
func TestPermit(t *testing.T) {
	byService := orygrpc.Permit("services", "call", func(m *healthgrpc.HealthCheckRequest) string { return m.GetService() })
	otherType := orygrpc.Permit("services", "call", func(m *wrapperspb.StringValue) string { return m.GetValue() })
	cases := []struct {
		name    string
		opt     core.Option
		service string
		code    codes.Code
		checks  int // calls that reached Keto
	}{
		{"tuple exists", byService, "billing", codes.OK, 1},
		{"no tuple", byService, "payroll", codes.PermissionDenied, 1},
		{"empty object", byService, "", codes.PermissionDenied, 0},
		{"Permit typed for another message", otherType, "billing", codes.PermissionDenied, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keto := orytest.NewKeto()
			defer keto.Close()
			keto.Allow("services", "billing", "call", "identity-s1")
			e := start(t, core.Config{Permissions: core.PermissionsConfig{URL: keto.URL}, Logger: slog.New(slog.DiscardHandler)},
				orygrpc.Config{Methods: map[string][]core.Option{methodCheck: {tc.opt}}})
			e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			ctx, cancel := context.WithTimeout(withMD("x-session-token", "tok"), 5*time.Second)
			defer cancel()
			_, err := e.health.Check(ctx, &healthgrpc.HealthCheckRequest{Service: tc.service})
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.code)
			}
			if got := keto.Calls(); got != tc.checks {
				t.Errorf("%d calls reached Keto, want %d", got, tc.checks)
			}
			if tc.code == codes.OK && e.svc.last() != "s1" {
				t.Errorf("handler saw %q", e.svc.last())
			}
		})
	}
}
