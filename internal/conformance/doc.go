// Package conformance runs oryguard's adapter conformance suite (package
// core/conformance, imported here as suite) against every framework adapter
// at once: net/http (oryhttp), Gin (orygin), Echo (oryecho) and Fiber
// (oryfiber). Each adapter module already runs the suite on its own (its
// conformance_test.go); this package holds a copy of the four targets and
// calls suite.Run with all of them, which also checks that every adapter
// gives the same answer to the same request, field by field: status,
// headers, exact body, what the handler and the error handlers saw, and
// what reached Ory. The end-to-end suite (internal/e2e) mounts the adapters
// through the same targets.
//
// The module is internal: it exists only to import every adapter at once.
// A new adapter adds its target to Targets. Run it with
//
//	cd internal/conformance && go test -race ./...
package conformance
