// Package mount is the one table of oryguard's six framework adapters
// (net/http, Gin, Echo v4 and v5, Fiber v2 and v3) for the tests and
// benchmarks that run all of them: each row mounts its adapter in process for
// core/conformance's cases (Adapter.Target) and on a real HTTP server on
// 127.0.0.1 (Adapter.Serve).
//
// Adding an adapter is one file here (its Target and its serve function) and
// one line in Adapters.
package mount
