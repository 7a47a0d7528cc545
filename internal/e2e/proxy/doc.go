// Package proxy runs the in-app Ory proxy (adapters/proxy) against a
// real Kratos on another site: Kratos on 127.0.0.1, the app and its proxy
// on 127.0.0.2 (cookies ignore ports, so two ports on one address would
// prove nothing). A browser that may only talk to the app registers, logs
// in, reaches a protected page, refreshes its session, adds TOTP and steps
// up to an aal2 page, and logs out, and ends up holding the session cookie
// for the app's host.
//
// It is its own module because it needs adapters/proxy, which
// internal/e2e's module does not require. startKratos is the one place
// that knows how the Kratos harness is started.
package proxy
