// Package reliability holds oryguard's fault, restart, revocation and soak
// tests against a real Ory Kratos (v1.3.1, built by `make kratos`), with a
// fault-injecting proxy (package faultproxy) between the guard and Kratos.
// The tests are in the _test.go files; `go run ./cmd/soak` runs the soak for
// longer and prints its figures. See RELIABILITY.md at the repository root.
package reliability
