// Package core is the framework-agnostic heart of oryguard: it protects web
// routes with an Ory session (Ory Network or a self-hosted Ory Kratos).
//
// For every request a framework adapter (oryhttp, orygin, oryecho, oryfiber)
// reads a handful of request facts into a [Request], asks a [Route] for a
// [Decision] and carries it out. The core owns every decision:
//
//   - which credential counts (X-Session-Token, then the session cookie, then
//     Authorization: Bearer, the order Ory Kratos uses);
//   - what is sent to Ory: the session credential alone, never other cookies;
//   - how Ory's whoami answer is read: a session counts only when it is
//     active, unexpired and its identity is active; an error is never a
//     session;
//   - what the client gets: the next handler with the session in the
//     context, a 303 to Ory's login flow for browsers, a 401 in Ory's error
//     shape for API clients, a step-up (aal=aal2) or re-authentication
//     (refresh=true) redirect, and a 5xx or 429 (never a login loop) when Ory
//     fails or rate-limits.
//
// Every denial is a [*Denial] error that unwraps to exactly one sentinel
// ([ErrNoSession], [ErrAAL2Required], [ErrRefreshRequired], [ErrForbidden],
// [ErrRateLimited], [ErrOryUnavailable], [ErrOryTimeout], [ErrBusy]) and
// carries the status, Location and Retry-After of the guard's standard
// answer, so an app's error handler can render its own page while the
// decision stays the guard's. [Check] adds app-defined rules on the verified
// session; on an optional route, [SessionError] tells an anonymous request
// from one Ory could not answer.
//
// A Guard is safe for concurrent use; build one per Ory project with [New]
// and share it between routes. Route policies ([Optional], [RequireAAL2],
// [MaxAuthAge], [Check], [ForceAPI], [ForceBrowser]) are the same in every adapter.
//
// Concurrent requests that carry the same credential share one whoami call.
// An opt-in session cache ([CacheConfig]) makes repeated requests nearly free;
// see its documentation for the revocation trade-off.
package core
