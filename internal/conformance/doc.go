// Package conformance runs oryguard's adapter conformance suite (package
// core/conformance) against every framework adapter: net/http (oryhttp), Gin (orygin),
// Echo (oryecho) and Fiber (oryfiber). It holds one suite.Target per
// adapter; the test in this package calls suite.Run with all four, so one
// table of cases proves that every adapter gives the same answer to the same
// request.
//
// The module is internal: it exists only to import every adapter at once.
// Run it with
//
//	cd internal/conformance && go test -race ./...
package conformance
