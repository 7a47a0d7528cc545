// Package telemetry tests oryguard's OpenTelemetry module (adapters/otel)
// against a real Kratos: a request that arrives with a traceparent makes a
// whoami client span in that trace, and the span's traceparent reaches
// Kratos. The tests are in telemetry_test.go.
package telemetry
