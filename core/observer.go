package core

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Observer receives what the guard does, for metrics and traces (the
// adapters/otel module implements it with OpenTelemetry). Set it in
// Config.Observer; nil costs nothing.
//
// The guard calls it synchronously on the request path, so its methods must
// be fast, safe for concurrent use and must not block. Nothing the guard
// hands an Observer holds a credential: no cookie, no token, no header of
// the request. Session and identity IDs are offered on WhoamiCall; recording
// them is the Observer's choice.
//
// Embed NopObserver to implement only some methods and to keep compiling
// when methods are added.
type Observer interface {
	// Attach is called once by New with the guard being built, so that the
	// Observer can read figures such as CacheEntries later. One Observer
	// may be attached to several guards.
	Attach(g *Guard)

	// Decision is called once per Route.Authenticate with its outcome.
	Decision(ctx context.Context, o Outcome)

	// CacheLookup is called once per request that looks in the session
	// cache (only when the cache is on and the request has a credential).
	CacheLookup(ctx context.Context, r CacheResult)

	// LookupRefused is called when a whoami call is not made because
	// Config.MaxConcurrentLookups calls are in flight already.
	LookupRefused(ctx context.Context)

	// WhoamiStart is called when a whoami call is admitted, before it is
	// sent. ctx is the context of the request that makes the call (other
	// requests with the same credential wait for it); the returned context
	// is the parent of the outgoing HTTP request and is handed back to
	// WhoamiDone, so a span started here is the call's parent span. A call
	// is in flight from WhoamiStart until its WhoamiDone.
	WhoamiStart(ctx context.Context, w WhoamiRequest) context.Context

	// WhoamiDone is called once for every WhoamiStart, with a context
	// derived from the one WhoamiStart returned.
	WhoamiDone(ctx context.Context, w WhoamiCall)

	// InjectHeaders adds headers (such as traceparent) to a request the
	// guard sends to Ory, from the request's context. h starts empty; the
	// guard copies its entries onto the request but never replaces a header
	// the guard set itself, so an Observer cannot see or alter the
	// credential.
	InjectHeaders(ctx context.Context, h http.Header)
}

// NopObserver implements Observer and does nothing. Embed it in an
// Observer that needs only some of the methods.
type NopObserver struct{}

// Attach does nothing.
func (NopObserver) Attach(*Guard) {}

// Decision does nothing.
func (NopObserver) Decision(context.Context, Outcome) {}

// CacheLookup does nothing.
func (NopObserver) CacheLookup(context.Context, CacheResult) {}

// LookupRefused does nothing.
func (NopObserver) LookupRefused(context.Context) {}

// WhoamiStart returns ctx.
func (NopObserver) WhoamiStart(ctx context.Context, _ WhoamiRequest) context.Context { return ctx }

// WhoamiDone does nothing.
func (NopObserver) WhoamiDone(context.Context, WhoamiCall) {}

// InjectHeaders does nothing.
func (NopObserver) InjectHeaders(context.Context, http.Header) {}

// Outcome is what Route.Authenticate decided, as a metric label.
type Outcome uint8

// Outcomes: allowed with a session, allowed without one (optional route),
// and one per denial reason (the sentinel errors ErrNoSession, ErrAAL2Required, ...).
const (
	OutcomeAllowed          Outcome = iota // a verified session; the handler runs
	OutcomeAllowedAnonymous                // optional route without a session (any reason, Ory failures included)
	OutcomeNoSession                       // ErrNoSession
	OutcomeAAL2Required                    // ErrAAL2Required
	OutcomeRefreshRequired                 // ErrRefreshRequired
	OutcomeForbidden                       // ErrForbidden
	OutcomeRateLimited                     // ErrRateLimited
	OutcomeOryUnavailable                  // ErrOryUnavailable
	OutcomeOryTimeout                      // ErrOryTimeout
	OutcomeBusy                            // ErrBusy

	// NumOutcomes is the number of outcomes: every Outcome is below it.
	NumOutcomes = iota
)

var outcomeNames = [NumOutcomes]string{
	"allowed", "allowed_anonymous", "no_session", "aal2_required", "refresh_required",
	"forbidden", "rate_limited", "ory_unavailable", "ory_timeout", "busy",
}

// String is the outcome's stable label: allowed, allowed_anonymous,
// no_session, aal2_required, refresh_required, forbidden, rate_limited,
// ory_unavailable, ory_timeout or busy.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// OutcomeOf names what a decision of Route.Authenticate decided.
func OutcomeOf(d *Decision) Outcome {
	switch {
	case d.Denial == nil:
		return OutcomeAllowed
	case d.Allow:
		return OutcomeAllowedAnonymous
	}
	for o := OutcomeNoSession + 1; o < NumOutcomes; o++ {
		if err := outcomeErrs[o]; err != nil && errors.Is(d.Denial.Reason, err) {
			return o
		}
	}
	return OutcomeNoSession
}

// CacheResult is what a look in the session cache found.
type CacheResult uint8

// Cache results.
const (
	CacheHit   CacheResult = iota // a fresh entry: Ory is not asked
	CacheMiss                     // no entry: Ory is asked
	CacheStale                    // an entry past its freshness, kept for StaleIfError: Ory is asked

	// NumCacheResults is the number of cache results.
	NumCacheResults = iota
)

var cacheResultNames = [NumCacheResults]string{"hit", "miss", "stale"}

// String is the result's stable label: hit, miss or stale.
func (r CacheResult) String() string {
	if int(r) < len(cacheResultNames) {
		return cacheResultNames[r]
	}
	return "unknown"
}

// WhoamiRequest describes a whoami call about to be sent. It holds no
// credential: the URL has no query and the credential travels in headers.
type WhoamiRequest struct {
	Method string // GET
	URL    string // {ory}/sessions/whoami
}

// WhoamiResult is how a whoami call ended, as a metric label.
type WhoamiResult uint8

// Whoami results.
const (
	WhoamiSession      WhoamiResult = iota // 200 with a usable session
	WhoamiNoSession                        // 401, or a session that is not active
	WhoamiAAL2Required                     // 403 session_aal2_required
	WhoamiForbidden                        // another 403
	WhoamiRateLimited                      // 429
	WhoamiError                            // 5xx, unreachable, undecodable
	WhoamiTimeout                          // no answer within Config.Timeout
	WhoamiCanceled                         // the request that made the call went away first

	// NumWhoamiResults is the number of whoami results.
	NumWhoamiResults = iota
)

var whoamiResultNames = [NumWhoamiResults]string{
	"session", "no_session", "aal2_required", "forbidden", "rate_limited", "error", "timeout", "canceled",
}

// String is the result's stable label: session, no_session, aal2_required,
// forbidden, rate_limited, error, timeout or canceled.
func (r WhoamiResult) String() string {
	if int(r) < len(whoamiResultNames) {
		return whoamiResultNames[r]
	}
	return "unknown"
}

// WhoamiCall is how one whoami call went.
type WhoamiCall struct {
	Result WhoamiResult
	// Status is the HTTP status of Ory's answer; 0 when there was none.
	Status int
	// Duration is from sending the request until its answer was read.
	Duration time.Duration
	// SessionID and IdentityID are set when Result is WhoamiSession. They
	// are identifiers, not credentials; record them only if the app opts
	// in.
	SessionID, IdentityID string
}

// hook is the guard's Observer and what it hands it, computed once.
type hook struct {
	o      Observer
	whoami WhoamiRequest
}

// observe attaches o (when set) to the guard and lets it add headers to
// every request the client sends to Ory.
func (g *Guard) observe(o Observer, c *http.Client) {
	if o == nil {
		return
	}
	g.obs = hook{o: o, whoami: WhoamiRequest{Method: http.MethodGet, URL: g.ory + "/sessions/whoami"}}
	c.Transport = observeTransport{next: c.Transport, o: o}
	o.Attach(g)
}

func (g *Guard) observeDecision(ctx context.Context, d *Decision) {
	if o := g.obs.o; o != nil {
		o.Decision(ctx, OutcomeOf(d))
	}
}

// observeCache reports a look in the cache that found e (nil: nothing)
// fresh or not.
func (g *Guard) observeCache(ctx context.Context, e *entry, fresh bool) {
	if o := g.obs.o; o != nil {
		r := CacheMiss
		switch {
		case fresh:
			r = CacheHit
		case e != nil:
			r = CacheStale
		}
		o.CacheLookup(ctx, r)
	}
}

func (g *Guard) observeRefused(ctx context.Context) {
	if o := g.obs.o; o != nil {
		o.LookupRefused(ctx)
	}
}

func (g *Guard) whoamiStart(ctx context.Context) context.Context {
	if o := g.obs.o; o != nil {
		return o.WhoamiStart(ctx, g.obs.whoami)
	}
	return ctx
}

// whoamiDone reports how a whoami call went; caller is the context of the
// request that made it.
func (g *Guard) whoamiDone(ctx, caller context.Context, res *result, resp *http.Response, start time.Time) {
	o := g.obs.o
	if o == nil {
		return
	}
	w := WhoamiCall{Duration: time.Since(start)}
	if resp != nil {
		w.Status = resp.StatusCode
	}
	w.Result = reasons[res.kind].whoami
	if res.kind == reasonSession {
		w.SessionID = res.session.Id
		if id := res.session.Identity; id != nil {
			w.IdentityID = id.Id
		}
	}
	if res.kind != reasonSession && caller.Err() != nil {
		w.Result = WhoamiCanceled
	}
	o.WhoamiDone(ctx, w)
}

// credentialHeader reports whether a (canonical) header name can carry an
// Ory credential.
func credentialHeader(k string) bool {
	return k == "Cookie" || k == "X-Session-Token" || k == "Authorization"
}

// observeTransport lets the Observer add headers to requests to Ory.
type observeTransport struct {
	next http.RoundTripper
	o    Observer
}

func (t observeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	t.o.InjectHeaders(r.Context(), h)
	if len(h) == 0 {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	for k, vs := range h {
		k = http.CanonicalHeaderKey(k)
		if _, set := r.Header[k]; !set && !credentialHeader(k) {
			r.Header[k] = vs
		}
	}
	return t.next.RoundTrip(r)
}

// PermissionObserver is implemented by an Observer that also wants the
// guard's permission checks (Permit). It is optional: the guard finds it
// on Config.Observer with a type assertion, so an Observer written before
// permission checks existed keeps compiling and working.
//
// As Observer's, its method is called synchronously and must be fast, safe
// for concurrent use and must not block.
type PermissionObserver interface {
	// PermissionCheck is called once per tuple of every call to Ory
	// Permissions (a batch call reports each of its tuples, with Batch
	// its size), and once per tuple answered by the permission cache
	// (Cached). Concurrent identical checks share one call and are
	// reported once. ctx is the context of the request that made the
	// call.
	PermissionCheck(ctx context.Context, c PermissionCheck)
}

// PermissionResult is how one permission check ended, as a metric label.
type PermissionResult uint8

// Permission results.
const (
	PermissionAllowed  PermissionResult = iota // Keto (or the cache) allowed it
	PermissionDenied                           // Keto denied it
	PermissionError                            // Keto failed: 5xx, 429, unreachable, timeout, a bad answer
	PermissionCanceled                         // the request went away first, or another check of the route was denied

	// NumPermissionResults is the number of permission results.
	NumPermissionResults = iota
)

var permissionResultNames = [NumPermissionResults]string{"allowed", "denied", "error", "canceled"}

// String is the result's stable label: allowed, denied, error or canceled.
func (r PermissionResult) String() string {
	if int(r) < len(permissionResultNames) {
		return permissionResultNames[r]
	}
	return "unknown"
}

// PermissionCheck is how one permission check went. It holds no
// credential; the subject (the identity ID) is not in it.
type PermissionCheck struct {
	// Namespace and Relation are the Permit's.
	Namespace, Relation string
	// Object is the checked object, set only with
	// PermissionsConfig.ObserveObjects: object IDs can be personal data
	// and have no bound, so they make poor metric labels.
	Object string
	// Result is how the check ended.
	Result PermissionResult
	// Status is the HTTP status of Keto's answer; 0 when there was none
	// (and for a cache hit).
	Status int
	// Duration is from sending the call until its answer was read (of the
	// whole batch, for a batch call); 0 for a cache hit.
	Duration time.Duration
	// Batch is the number of tuples the call carried: 1 for a single
	// check, more for a batch call; 0 for a cache hit.
	Batch int
	// Cached reports that the permission cache answered and Keto was not
	// asked.
	Cached bool
}
