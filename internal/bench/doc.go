// Package bench measures oryguard: the core hit and miss paths, each
// adapter's throughput next to the same route without the guard, each RPC
// interceptor's unary call next to the same method unguarded, the guard
// against a real Kratos next to the naive middleware of Ory's Go guide,
// request collapsing, the memory the session cache holds at its bound, and
// what users feel (section 7): the same route behind Ory Oathkeeper (the
// peer), and an active user's latency and whoami calls across cache TTL
// boundaries with refresh ahead on and off.
//
// Every comparison is measured side by side in the same run: the variants
// are interleaved (A, B, A, B, ...) for several rounds and the medians are
// compared, so that noise from other work on the machine hits both sides
// alike. Every load run is bounded in time and goes only to 127.0.0.1.
//
// The program cmd/bench runs everything and prints one table; `make bench`
// runs it, and it is the load program of the throughput rows (wrk, else a Go
// load loop). The in-process figures of section 1 are also Benchmark
// functions (BenchmarkHit, BenchmarkCore, BenchmarkTelemetry) for go test
// -bench and benchstat; cmd/bench -baseline <rev> builds the revision's own
// BenchmarkHit in a temporary git worktree, runs both builds interleaved
// and prints benchstat's table of old against new. The package's tests run
// each measurement with tiny durations.
package bench
