// Package oryotel makes an oryguard guard observable with OpenTelemetry:
// metrics of its decisions, cache and whoami calls, and one client span per
// whoami call whose traceparent goes to Ory, so that Ory's (and Kratos')
// own traces join the app's.
//
// Turn it on with one line in the guard's configuration:
//
//	guard, err := core.New(core.Config{OryURL: oryURL, Observer: oryotel.New()})
//
// New uses the global meter, tracer and propagator providers unless
// WithMeterProvider, WithTracerProvider or WithPropagators give others.
//
// Metrics (names are stable):
//
//   - oryguard.decisions (counter), attribute oryguard.outcome: allowed,
//     allowed_anonymous (optional route without a session), no_session,
//     aal2_required, refresh_required, forbidden, rate_limited,
//     ory_unavailable, ory_timeout, busy;
//   - oryguard.whoami.duration (histogram, seconds), attributes
//     oryguard.whoami.result (session, no_session, aal2_required,
//     forbidden, rate_limited, error, timeout, canceled) and
//     http.response.status_code (when Ory answered);
//   - oryguard.cache.lookups (counter), attribute oryguard.cache.result:
//     hit, miss, stale;
//   - oryguard.lookups.in_flight (up-down counter): whoami calls in flight;
//   - oryguard.cache.entries (observable gauge): sessions in the caches of
//     the guards the Observer is attached to.
//   - oryguard.permission.checks (counter) and oryguard.permission.duration
//     (histogram, seconds; calls to Keto only) for permission checks
//     (core.Permit; the Observer implements core.PermissionObserver),
//     attributes oryguard.permission.namespace, oryguard.permission.relation,
//     oryguard.permission.result (allowed, denied, error, canceled),
//     oryguard.permission.cached, oryguard.permission.batch and
//     http.response.status_code. Object IDs are labels only with
//     WithPermissionObjects and core.PermissionsConfig.ObserveObjects both:
//     they can be personal data and make series unbounded.
//   - oryguard.permission.cache.entries (observable gauge): allowed answers
//     in the permission caches of the guards the Observer is attached to.
//
// Only the whoami span's trace context (traceparent) reaches Ory: never the
// incoming request's tracestate, nor its baggage unless WithBaggage is given.
//
// Traces: a whoami call makes a client span named "GET /sessions/whoami",
// a child of the span in the request's context, with OpenTelemetry's HTTP
// client attributes (http.request.method, server.address, server.port,
// url.full, url.template, http.response.status_code, error.type) and
// oryguard.whoami.result. A cache hit makes no span, and requests that wait
// for another request's call share its span. The span's status is Error
// when the call failed (429, 5xx, unreachable, timeout); a 401 or 403 is
// Ory's answer about the session, not a failed call.
//
// No attribute, metric label or span event ever holds a cookie, a token or
// an identity trait: core hands the Observer none. Session and identity IDs
// are recorded on the span only with WithSessionIDs, and never as metric
// labels.
//
// The hit path costs no allocation: every label set of the decision and
// cache counters is built once in New.
package oryotel
