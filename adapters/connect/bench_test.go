package oryconnect_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	oryconnect "github.com/oryguard/oryguard/adapters/connect"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// BenchmarkUnary measures the interceptor in process: "hit" is a guarded
// call whose session is in the guard's cache, "unguarded" a public
// procedure (the interceptor's floor). The handler does nothing.
func BenchmarkUnary(b *testing.B) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler), Cache: core.CacheConfig{TTL: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	ic, err := oryconnect.New(guard, oryconnect.Config{Public: []string{procWatch}})
	if err != nil {
		b.Fatal(err)
	}
	next := func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, nil }
	unary := ic.WrapUnary(next)
	for _, bc := range []struct{ name, proc string }{{"hit", procCheck}, {"unguarded", procWatch}} {
		req := connect.NewRequest(&struct{}{})
		req.Header().Set("X-Session-Token", "tok")
		spec := fakeSpec{req, bc.proc}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unary(context.Background(), spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
