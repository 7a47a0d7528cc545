// Package conformance is oryguard's adapter conformance suite: one table of
// request / Ory answer / route policy cases that every framework adapter
// must answer identically, byte for byte where it matters, in the manner of
// gin-contrib/sessions' tester package. It uses only core, core/orytest,
// client-go and the standard library, so any adapter module can import it
// from its tests.
//
// # How a new adapter proves itself
//
// Write a Target in the adapter module's conformance_test.go and call Run:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, target{}) }
//
// A Target is a handful of methods that each build a fresh app serving
// every path (a catch-all route):
//
//   - Protected mounts the short form, Middleware(guard, opts...), in front
//     of the protected handler, which calls probe.Observe with what the
//     adapter's Session accessor, core.SessionFromContext and the adapter's
//     SessionError accessor return, and answers 200 with
//     ProtectedContentType and the bytes Observe returned.
//   - ProtectedWithConfig mounts the config form with TargetConfig's
//     Options, a Skipper (Next) that calls cfg.Skip with the request path
//     when it is set, and an ErrorHandler that calls cfg.ErrorHandler(err)
//     when it is set and carries out the Page it returns: the adapter's
//     DefaultErrorHandler (Page.Default), return the error to the framework
//     (Page.Return), or write Page.Status and Page.Body with
//     PageContentType.
//   - Refresh and Logout mount RefreshHandler and LogoutHandler.
//   - Listen serves what Protected mounts on a real server, on a loopback
//     port (ListenHTTP for an http.Handler), for the hostile-input checks.
//
// A Page with Default set carries out the error in Page.Err with the
// adapter's DefaultErrorHandler: the denial, or an error of the app's own.
//
// A framework that routes path parameters also implements ParamTarget:
// ProtectedParam and ProtectedParamWithConfig mount the same forms on the
// route /docs/{id} (/docs/:id), where the framework has matched it, and
// ProtectedGlobal mounts the short form the framework's app-wide way and
// says whether the middleware sees the route's parameters there. The
// permission rows (core.Permit with core.PathParam) run through it; a
// Target without it skips them.
//
// A framework that takes errors from middleware (Echo's HTTPErrorHandler,
// Fiber's Config.ErrorHandler) also implements ErrorReturner: its
// ProtectedWithConfig installs the framework's own error handler as one
// that writes probe.FrameworkError(err), so the suite sees how often it
// runs (once for an error the ErrorHandler returns, never for the default
// answer).
//
// Serve requests the framework's own way: Recorder wraps an http.Handler;
// Fiber uses app.Test. The targets of the adapters in this repository
// (adapters/*/conformance_test.go) are about a hundred lines each; copy
// one.
//
// # What Run checks
//
// Run serves every row of the table through the targets against one fake
// Ory server (core/orytest) and compares each Outcome with the row's
// explicit expectation: status, Location, exact body and headers, what the
// handler saw, what the ErrorHandler and the framework's error handler got
// (as Seen: the sentinel, Status, Location, Retry-After, whether the app
// check's error is reachable), and every request that reached Ory. A plain
// row runs through the short form, the config form, and the config form
// with an ErrorHandler wrapping DefaultErrorHandler; all three must give
// the same bytes. The whole table runs twice: with the session cache off
// and on. The permission rows then run the same way on a ParamTarget's
// route with a path parameter, against a fake Ory Permissions
// (orytest.Keto), and compare the tuples it was asked about too: allowed,
// denied (403, never a login redirect), Keto failing (502, 504, 429 with
// Retry-After), optional routes, an empty object (no call to Keto), and
// hostile percent-encodings of the object, which reach Keto decoded
// exactly once, whole, as the object. A ParamTarget's app-wide mount
// either sees the parameters or denies every request. Then Run writes hostile request targets, spoofed host headers
// and hostile credential headers as raw bytes to each target's real server
// (Listen): return_to never leads off the app, no hostile credential
// reaches Ory, and the protected handler never runs. With several targets,
// Run also checks that they all produced the same result.
package conformance
