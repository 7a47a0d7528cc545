// Package core is the framework-agnostic heart of oryguard: it protects web
// routes with an Ory session (Ory Network or a self-hosted Ory Kratos).
//
// Apps use it through the adapter for their framework, which returns the
// framework's own middleware:
//
//	net/http     github.com/oryguard/oryguard/adapters/nethttp   (oryhttp)
//	Gin          github.com/oryguard/oryguard/adapters/gin       (orygin)
//	Echo v4, v5  github.com/oryguard/oryguard/adapters/echo, .../echov5 (oryecho)
//	Fiber v2, v3 github.com/oryguard/oryguard/adapters/fiber, .../fiberv3 (oryfiber)
//
// From core itself an app needs [New] and its [Config], the route policies
// ([Optional], [RequireAAL2], [MaxAuthAge], [Check], [Permit], [ForceAPI],
// [ForceBrowser]), and in its handlers [SessionFromContext], [Traits] and
// [SessionError]. The sections below say what each part does; "Writing an
// adapter" and "Observers and shared tiers" are for those who extend
// oryguard, and an app developer may skip them.
//
// # Protecting routes
//
// Build one [Guard] per Ory project with [New] and share it between
// routes; it is safe for concurrent use. Each route gets a policy from
// [Guard.Route] ("required" with no options). For every request the guard
// decides:
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
// [Guard.LogoutRedirect] and [Guard.RefreshRedirect] answer an app's logout
// and "re-authenticate" routes (the adapters wrap them as handlers);
// [Guard.LoginURL], [Guard.StepUpURL], [Guard.RefreshURL] and
// [Guard.LogoutURL] build Ory's flow URLs for links and buttons, with
// return_to checked by [Guard.SafeReturnTo]. Every URL handed to a browser
// is on [Config].BrowserURL when that is set (an in-app Ory proxy,
// github.com/oryguard/oryguard/adapters/proxy), so that Ory's cookies are
// set for the app's own host; whoami always goes to Config.OryURL.
//
// # Denials
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
// # Permissions
//
// [Permit] asks Ory Permissions (Ory Keto, or Ory Network's permission
// API) whether the session's identity has a relation on an object, after
// the session check and the route's [Check] options pass:
//
//	guard.Route(core.Permit("Document", "view", core.PathParam("id")))
//
// The object is a function of the [Request]; [PathParam] reads a path
// parameter the adapter matched ([Request].Params), so the middleware must
// run where the framework has matched the route. An empty object, or one
// that is not valid UTF-8, denies without asking Keto. [SubjectSet] makes the subject the subject set
// namespace:<identity ID>#relation instead of the identity ID.
//
// Configure the permission API once, in [Config].Permissions
// ([PermissionsConfig]): Keto's read URL (self-hosted Keto serves reads on
// its own port; empty means OryURL, as on Ory Network) with an optional
// API key sent as a bearer token and never logged, its own timeout, and an
// HTTP client that follows no redirects and keeps no cookies. Every field
// of a check travels as a query value or a JSON string through
// github.com/ory/client-go's PermissionAPI, never spliced into a URL path.
//
// Answers go through the same table as the session's, as a [*Denial]:
//
//	allowed                       the handler runs with the session
//	denied, or an empty object    403  ErrPermissionDenied (is ErrForbidden)
//	Keto 5xx, unreachable, a body
//	  that is not its JSON or is
//	  over 64 KiB                 502  ErrPermissionsUnavailable (is ErrOryUnavailable)
//	no answer in time             504  ErrOryTimeout
//	Keto 429                      429  ErrRateLimited, with Keto's Retry-After
//	too many checks in flight     503  ErrBusy
//
// None of them is ever an allow, and none sends a browser to log in: a
// browser gets the forbidden or error answer its adapter renders for these
// statuses. After a 429 the guard honours Retry-After as it does for
// whoami ([BackoffProbesPerSecond]). On an [Optional] route an anonymous
// request never asks Keto; with a session, permissions deny exactly as on
// a required route (unlike Check and Ory failures, which run an optional
// route's handler without a session).
//
// Several Permit options on one route are all required and asked in one
// round: concurrently, one call each (the first denial cancels the
// others), or, with PermissionsConfig.Batch, in one call to
// /relation-tuples/batch/check (Keto v0.14 and later, Ory Network; a route
// with a single Permit always uses the single check). A single check uses
// /relation-tuples/check/openapi, which answers 200 {"allowed": bool} both
// ways. Concurrent identical checks (same subject, namespace, object and
// relation, or the same batch) share one call. Calls in flight are bounded
// by their own limit of [Config].MaxConcurrentLookups (a limit separate
// from whoami's, so that a slow Keto cannot starve session checks).
//
// Allowed answers are cached only when PermissionsConfig.CacheTTL is
// positive (off by default, as Ory advises: a permission change then takes
// effect on the next request); denials and errors never are. Entries are
// keyed by subject, namespace, object and relation, so the identity's other
// sessions share them. A logout through the guard, [Guard.ForgetSession]
// and the fleet's invalidations (CacheConfig.Shared) drop the cached
// answers of the session's identity, and no answer to a question asked
// before that is cached afterwards. That is exact on every instance that
// checked a permission for that session (each remembers which identity its
// sessions belong to); an instance that only saw the identity's other
// sessions keeps their answers until CacheTTL ends, as it does for any
// tuple removed in Keto: CacheTTL bounds how long a revoked permission may
// still be served.
//
// An [Observer] that also implements [PermissionObserver] receives every
// check as a [PermissionCheck] (namespace, relation, result, duration,
// batch size; the object only with PermissionsConfig.ObserveObjects). The
// interface is optional, so older Observers keep compiling.
// core/orytest.NewKeto is a fake Keto for tests.
//
// # Caching
//
// Concurrent requests that carry the same credential share one whoami call.
// An opt-in session cache ([CacheConfig]) makes repeated requests nearly free;
// see its documentation for the revocation trade-off, and
// [Guard.ForgetSession] for sessions revoked through Ory's admin API.
//
// # Writing an adapter
//
// An adapter turns a framework's request into a [Request], calls
// [Route.Authenticate] once, and carries out the [Decision] it returns,
// branching on nothing else:
//
//   - [RequestFromHTTP] builds the Request from a net/http request (Gin and
//     Echo expose one); [RequestFromRaw] reads a header that hands out its
//     bytes without copying, as fasthttp's does (the [RawHeader]
//     interface). Request's fields may also be filled in directly, as tests
//     and adapters outside this repository do.
//   - When [Decision].Allow is true, add [Decision].Header to the response
//     ([AddHeader] copies it onto any [HeaderAdder]) and run the next
//     handler with the decision in the request context:
//     [RequestWithDecision] for a *http.Request, [ContextWithDecision] for
//     a context.Context, [ContextWithSession] where only a session is
//     passed on. [SessionFromContext] and [SessionError] read it back.
//   - Otherwise hand [Decision].Denial to the app's error handler, whose
//     default writes [Answer]: the guard's standard status, headers and
//     body for a denial, a plain 500 for any other error.
//
// The conformance suite in core/conformance runs one table of requests,
// Ory answers and route policies through an adapter and checks every
// answer; a new adapter proves itself by passing it. core/orytest is the
// fake Ory server it (and an app's own tests) run against.
//
// # Observers and shared tiers
//
// An [Observer] (Config.Observer) receives every decision as an [Outcome],
// every look in the cache as a [CacheResult] and every whoami call as a
// [WhoamiCall], for metrics and traces; it never sees a credential. Embed
// [NopObserver] to implement only some methods. The
// github.com/oryguard/oryguard/adapters/otel module implements it with
// OpenTelemetry.
//
// A [SharedCache] (CacheConfig.Shared) is a session tier shared by every
// instance of an app: the guard asks it after its own cache and before
// Ory, writes Ory's answers to it, and tells it about logouts, which it
// passes to every instance as an [Invalidation]. Core keys it with keyed
// hashes ([MinSharedKeySecret]) so no credential leaves the process. The
// github.com/oryguard/oryguard/adapters/redis module implements it with
// Redis.
package core
