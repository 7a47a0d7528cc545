// Package mount is the one table of oryguard's six framework adapters
// (net/http, Gin, Echo v4 and v5, Fiber v2 and v3) for the tests and
// benchmarks that run all of them: each row mounts its adapter in process for
// core/conformance's cases (Adapter.Target) and on a real HTTP server on
// 127.0.0.1 (Adapter.Serve).
//
// The Targets are not copies: each is the one its adapter's module runs its
// own conformance test with (oryhttptest, orygintest, oryechotest,
// oryfibertest, next to each adapter). Adding an adapter is one file here
// (its serve function) and one line in Adapters.
package mount
