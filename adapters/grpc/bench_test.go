package orygrpc_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	orygrpc "github.com/oryguard/oryguard/adapters/grpc"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// BenchmarkUnary measures the unary interceptor in process: "hit" is a
// guarded call whose session is in the guard's cache, "unguarded" a public
// method (the interceptor's floor). The handler does nothing.
func BenchmarkUnary(b *testing.B) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler), Cache: core.CacheConfig{TTL: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	ic, err := orygrpc.New(guard, orygrpc.Config{Public: []string{methodList}})
	if err != nil {
		b.Fatal(err)
	}
	unary := ic.Unary()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-session-token", "tok"))
	handler := func(ctx context.Context, _ any) (any, error) { return ctx, nil }
	msg := &struct{ id string }{"doc-1"} // a request message
	for _, bc := range []struct{ name, method string }{{"hit", methodCheck}, {"unguarded", methodList}} {
		info := &grpc.UnaryServerInfo{FullMethod: bc.method}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unary(ctx, msg, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
