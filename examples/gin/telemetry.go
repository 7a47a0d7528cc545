package main

import (
	"fmt"
	"net/http"
	"time"

	oryotel "github.com/oryguard/oryguard/adapters/otel"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/examples/internal/ui"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// telemetry is the app's OpenTelemetry setup: a meter provider whose
// metrics Prometheus scrapes at /metrics.
type telemetry struct {
	provider *sdkmetric.MeterProvider
	metrics  http.Handler // serves /metrics
}

// newTelemetry sets the global meter provider (read through OpenTelemetry's
// Prometheus exporter, into a registry of the app's own) and the global
// propagator (W3C trace context), which oryotel.New uses by default. A real
// app also sets a tracer provider with an exporter (OTLP, for example):
// then each whoami call is a span in the request's trace, and its
// traceparent reaches Ory.
func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return &telemetry{provider: mp, metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// guardConfig is the guard's configuration: browsers sent to the app's Ory
// proxy, a session cache and oryotel (on the global providers) as its
// Observer.
func guardConfig(env ui.Env) core.Config {
	cfg := env.GuardConfig()
	cfg.Cache = core.CacheConfig{TTL: 30 * time.Second}
	cfg.Observer = oryotel.New()
	return cfg
}
