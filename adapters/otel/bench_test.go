package oryotel_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkHit is the cache-hit path without an Observer and with oryotel
// on the SDK's meter and tracer providers, side by side
// (go test -bench Hit -count 6, then compare the pairs).
func BenchmarkHit(b *testing.B) {
	for _, bc := range []struct {
		name string
		req  *core.Request
	}{{"cookie", cookieReq(goodCookie)}, {"token", tokenReq(goodToken)}} {
		b.Run(bc.name+"/without", func(b *testing.B) { benchHit(b, nil, bc.req) })
		b.Run(bc.name+"/oryotel", func(b *testing.B) {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			tp := sdktrace.NewTracerProvider()
			benchHit(b, oryotel.New(oryotel.WithMeterProvider(mp), oryotel.WithTracerProvider(tp)), bc.req)
		})
	}
}

func benchHit(b *testing.B, obs core.Observer, req *core.Request) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(goodCookie, orytest.ActiveSession("s", email))
	ory.Session(goodToken, orytest.ActiveSession("s", email))
	cfg := core.Config{OryURL: ory.URL, Cache: core.CacheConfig{TTL: time.Hour}, Logger: slog.New(slog.DiscardHandler)}
	if obs != nil {
		cfg.Observer = obs
	}
	g, err := core.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rt := g.Route()
	ctx := context.Background()
	if d := rt.Authenticate(ctx, req); !d.Allow {
		b.Fatalf("denied: %d", d.Status)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := rt.Authenticate(ctx, req); !d.Allow {
			b.Fatal("denied")
		}
	}
}
