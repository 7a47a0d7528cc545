// Package flows is oryguard's end-to-end suite of request flows against a
// real Ory Kratos (v1.3.1, started by package harness): the conformance
// cases that a real Kratos can produce, served through every adapter of
// package mount, with every answer checked against an explicit expectation
// and against the other adapters' answers.
//
// The guards do not talk to Kratos directly: a recording reverse proxy
// (Recorder) sits between them and Kratos' public API and records the
// credential headers it forwards, so every case also states exactly what
// reached Kratos (no app cookies, the session cookie alone, the token as
// X-Session-Token). URLs the guard hands to browsers (login, step-up,
// refresh, logout) are followed into Kratos with the browser's cookies, and
// the flow Kratos creates is read back and checked (return_to, refresh,
// requested_aal); some are completed (password, TOTP) to show the browser
// comes back to the app with a session the guard accepts.
//
// The non-test files hold the machinery: the adapters (Targets),
// the proxies (Recorder, Switch), the browser side of Kratos' flows
// (Follow, LoginFlow, SubmitLoginFlow) and the per-case environment (Env,
// Mount, Results). The cases are in the _test.go files:
//
//	cd internal/e2e && go test -race ./flows/
//
// The tests fail when the Kratos binary is missing (run `make kratos`) and
// are skipped with -short.
package flows
