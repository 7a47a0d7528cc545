package oryotel_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The guard reports to OpenTelemetry with one line in its Config. Without
// options, oryotel.New uses the global providers (otel.SetMeterProvider,
// otel.SetTracerProvider, otel.SetTextMapPropagator); here a manual reader
// shows what was counted.
func Example() {
	ory := orytest.NewServer() // a fake Ory; use your project URL
	defer ory.Close()
	ory.Session("ory_st_example", orytest.ActiveSession("s1", "a@example.com"))

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	guard, err := core.New(core.Config{
		OryURL:   ory.URL,
		Observer: oryotel.New(oryotel.WithMeterProvider(mp)),
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	route := guard.Route()
	for _, token := range []string{"ory_st_example", "ory_st_unknown"} {
		route.Authenticate(context.Background(), &core.Request{Method: http.MethodGet, URI: "/api", SessionToken: token})
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != oryotel.MetricDecisions {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			if dp.Value == 0 {
				continue // every outcome is reported, from zero
			}
			outcome, _ := dp.Attributes.Value(oryotel.OutcomeKey)
			fmt.Printf("%s{%s=%q} %d\n", m.Name, oryotel.OutcomeKey, outcome.String(), dp.Value)
		}
	}
	// Unordered output:
	// oryguard.decisions{oryguard.outcome="allowed"} 1
	// oryguard.decisions{oryguard.outcome="no_session"} 1
}
