package bench

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Target of the telemetry overhead: the cache-hit path with oryotel
// attached (OpenTelemetry SDK meter and tracer providers) against the same
// guard without an Observer, side by side, and no added allocations.
const telemetryMaxRatio = 1.10

// observedHitBench is hitBench with oryotel attached to the SDK's meter
// provider (a manual reader, as a Prometheus or OTLP exporter uses) and
// tracer provider, or without an Observer when observe is false.
func observedHitBench(req *core.Request, credential string, observe bool) benchFunc {
	return func(b *testing.B) error {
		ory := orytest.NewServer()
		defer ory.Close()
		ory.Session(credential, orytest.ActiveSession("s1", "a@example.com"))
		cfg := core.Config{OryURL: ory.URL, Logger: quiet, Cache: core.CacheConfig{TTL: time.Hour}}
		if observe {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			tp := sdktrace.NewTracerProvider()
			defer func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) }()
			cfg.Observer = oryotel.New(oryotel.WithMeterProvider(mp), oryotel.WithTracerProvider(tp))
		}
		g, err := core.New(cfg)
		if err != nil {
			return err
		}
		rt := g.Route()
		ctx := context.Background()
		if d := rt.Authenticate(ctx, req); !d.Allow {
			return fmt.Errorf("hit path: first request denied with %d", d.Status)
		}
		denied := 0
		for b.Loop() {
			if d := rt.Authenticate(ctx, req); !d.Allow {
				denied++
			}
		}
		b.StopTimer()
		if denied > 0 {
			return fmt.Errorf("hit path: %d requests denied", denied)
		}
		return nil
	}
}

// Telemetry measures oryotel's cost on the cache-hit path (section 1): the
// guard with oryotel next to the guard without it, interleaved.
func Telemetry(ctx context.Context, cfg Config) []Row {
	const sec = "1 core"
	var rows []Row
	for _, v := range []struct {
		name       string
		req        *core.Request
		credential string
	}{
		{"browser cookie", hitCookieRequest(), kratosCookieValue},
		{"X-Session-Token", hitTokenRequest(), benchToken},
	} {
		if ctx.Err() != nil {
			return rows
		}
		cfg.logf("hit path with oryotel vs without (%s): %d rounds of %v", v.name, cfg.MicroRounds, cfg.BenchTime)
		nsOps, allocs, err := interleave(cfg.MicroRounds,
			observedHitBench(v.req, v.credential, true), observedHitBench(v.req, v.credential, false))
		figure := "hit path with oryotel (OpenTelemetry SDK) / without, " + v.name
		if err != nil {
			rows = append(rows, failed(sec, figure, err))
			continue
		}
		ratio := pairRatio(nsOps[0], nsOps[1])
		// Whole allocations per request: a background goroutine (the fake's
		// server) may allocate a little during a round.
		added := math.Round(median(allocs[0])) - math.Round(median(allocs[1]))
		rows = append(rows, Row{sec, figure,
			fmt.Sprintf("%.3f (medians %s vs %s; %.0f vs %.0f allocs/op)", ratio, ns(median(nsOps[0])), ns(median(nsOps[1])), median(allocs[0]), median(allocs[1])),
			fmt.Sprintf("<= %.2f, 0 added allocs", telemetryMaxRatio), check(ratio <= telemetryMaxRatio && added <= 0)})
	}
	return rows
}
