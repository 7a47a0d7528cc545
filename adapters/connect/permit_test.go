package oryconnect_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestPermit: a unary procedure's permission check reads its object from
// the request message; a Permit typed for another message denies.
func TestPermit(t *testing.T) {
	// grpchealth hides its generated request type; an interface that it
	// implements serves as M.
	byService := oryconnect.Permit("services", "call", func(m interface{ GetService() string }) string { return m.GetService() })
	otherType := oryconnect.Permit("services", "call", func(m *wrapperspb.StringValue) string { return m.GetValue() })
	cases := []struct {
		name    string
		opt     core.Option
		service string
		code    connect.Code // 0: OK
		checks  int          // calls that reached Keto
	}{
		{"tuple exists", byService, "billing", 0, 1},
		{"no tuple", byService, "payroll", connect.CodePermissionDenied, 1},
		{"empty object", byService, "", connect.CodePermissionDenied, 0},
		{"Permit typed for another message", otherType, "billing", connect.CodePermissionDenied, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keto := orytest.NewKeto()
			defer keto.Close()
			keto.Allow("services", "billing", "call", "identity-s1")
			e := start(t, transports[0], core.Config{Permissions: core.PermissionsConfig{URL: keto.URL}, Logger: slog.New(slog.DiscardHandler)},
				oryconnect.Config{Procedures: map[string][]core.Option{procCheck: {tc.opt}}})
			e.ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := e.client(hdr("X-Session-Token", "tok")).Check(ctx, &grpchealth.CheckRequest{Service: tc.service})
			if got := connect.CodeOf(err); err != nil && got != tc.code || err == nil && tc.code != 0 {
				t.Fatalf("err = %v, want code %v", err, tc.code)
			}
			if got := keto.Calls(); got != tc.checks {
				t.Errorf("%d calls reached Keto, want %d", got, tc.checks)
			}
			if tc.code == 0 && e.chk.first() != "s1" {
				t.Errorf("handler saw %q", e.chk.first())
			}
		})
	}
}
