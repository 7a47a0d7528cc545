// Package reliability holds oryguard's fault, restart, revocation,
// return_to and soak tests against a real Ory Kratos (v1.3.1, started by
// package harness), with a fault-injecting proxy (package faultproxy)
// between the guard and Kratos. The tests are in the _test.go files; the
// app they protect is package rig, the soak package soak, and
// `go run ./cmd/soak` (in internal/e2e) runs the soak for longer and prints
// its figures. See RELIABILITY.md at the repository root.
package reliability
