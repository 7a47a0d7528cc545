package core

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	client "github.com/ory/client-go"
)

// Object names the object of a permission check for one request, such as
// a document ID taken from a path parameter (PathParam). An empty object,
// or one that is not valid UTF-8, denies the request without asking Keto.
type Object func(r *Request) string

// PathParam is the Object read from the route's path parameter name, as
// the adapter's router matched it (percent-decoded once). Mount the
// middleware where the framework has already matched the route (see each
// adapter's README): where no route is matched yet the parameter is empty,
// and the request is denied.
func PathParam(name string) Object {
	return func(r *Request) string {
		if r.Params == nil {
			return ""
		}
		return r.Params.Param(name)
	}
}

// PermitOption refines one Permit check.
type PermitOption func(*permit)

// permit is one permission check of a route.
type permit struct {
	namespace, relation string
	object              Object
	// subjectSet, when namespace is set, makes the subject the set
	// subjectSet.namespace:<identity ID>#subjectSet.relation rather than
	// the identity ID itself.
	subjectSet struct{ namespace, relation string }
}

// SubjectSet makes the check's subject the subject set
// namespace:<identity ID>#relation (for example the members of the user's
// own group object) instead of the identity ID.
//
// It panics when namespace or relation is empty: a programming error that
// would otherwise make every check fail.
func SubjectSet(namespace, relation string) PermitOption {
	if namespace == "" || relation == "" {
		panic("oryguard: SubjectSet needs a namespace and a relation")
	}
	return func(p *permit) {
		p.subjectSet.namespace, p.subjectSet.relation = namespace, relation
	}
}

// Permit requires, after the session check and the route's Check options
// pass, that Ory Permissions (Keto) answers that the session's identity
// (subject_id = identity.id, or the subject set of SubjectSet) has relation
// on namespace:object. Configure the permission API once, in
// Config.Permissions.
//
// Several Permit options on one route are all required: they go to Keto in
// one round, concurrently (one call each), or in one batch call with
// PermissionsConfig.Batch; the first denial decides. Answers:
//
//   - allowed: the handler runs with the session.
//   - denied, or an empty object or one that is not valid UTF-8 (Keto is
//     not asked): 403, a *Denial that
//     unwraps to ErrPermissionDenied and ErrForbidden. Browsers get the
//     forbidden answer too, never a login redirect.
//   - Keto failing (5xx, unreachable, a body that is not its JSON or is too
//     large): 502 (ErrPermissionsUnavailable, which unwraps to
//     ErrOryUnavailable); no answer within PermissionsConfig.Timeout: 504
//     (ErrOryTimeout); Keto's 429: 429 with its Retry-After
//     (ErrRateLimited). Never an allow, never a login redirect.
//
// On an Optional route an anonymous request never asks Keto. With a
// session, a Permit denies exactly as on a required route: unlike the other
// denials of an optional route (Check included), which run the handler
// without a session, a session that lacks the permission (or whose
// permission cannot be checked) is refused, since running the handler
// anonymously would hide from it that the user is signed in.
//
// The object is the exact string object returns: it travels to Keto as a
// query value or JSON string, never in a URL path, so no character in it
// can change the namespace, relation or subject of the check.
//
// It panics when namespace or relation is empty (a programming error,
// found when the route is built rather than on each request).
func Permit(namespace, relation string, object Object, opts ...PermitOption) Option {
	if namespace == "" || relation == "" {
		panic("oryguard: Permit needs a namespace and a relation")
	}
	return func(p *policy) {
		pm := permit{namespace: namespace, relation: relation, object: object}
		for _, o := range opts {
			if o != nil {
				o(&pm)
			}
		}
		p.permits = append(p.permits, pm)
	}
}

// PermissionsConfig configures the guard's permission checks (Permit).
type PermissionsConfig struct {
	// URL is the Ory Permissions read API: a self-hosted Keto's read
	// port (http://keto:4466) or the Ory Network project URL. Empty
	// means OryURL.
	URL string

	// APIKey is sent as a bearer token with every check (Ory Network).
	// It is never logged.
	APIKey string

	// Timeout bounds one check (or one batch), including reading the
	// answer. Zero means DefaultTimeout; negative is an error.
	Timeout time.Duration

	// Batch sends all of a route's checks in one call to
	// /relation-tuples/batch/check (Keto v0.14 and later, Ory Network;
	// Keto v0.13 has no such endpoint, and every check then fails with
	// 502). Keto caps a batch (limit.max_batch_check_size, 10 by
	// default). Off: the checks go concurrently, one call each. A single
	// check uses /relation-tuples/check/openapi either way.
	Batch bool

	// CacheTTL, when positive, reuses an allowed answer for that long,
	// keyed by subject, namespace, object and relation; denials and errors
	// are never cached. Zero (the default, as Ory advises) asks on every
	// request, so a change of permission takes effect at once. With a
	// cache, a tuple removed in Keto may keep allowing for up to CacheTTL;
	// a logout, Guard.ForgetSession and the fleet's invalidations drop the
	// identity's answers at once (see "Permissions" in the package
	// documentation for what is exact). It needs the session cache
	// (Cache.Disabled unset): that is where a logout learns whose
	// answers to drop.
	CacheTTL time.Duration

	// CacheMaxEntries bounds the permission cache when CacheTTL is
	// positive. Zero means DefaultPermissionCacheMaxEntries.
	CacheMaxEntries int

	// ObserveObjects hands the check's object to a PermissionObserver
	// (PermissionCheck.Object). Off, observers see namespace and relation
	// only: object IDs can be personal data and make metrics unbounded.
	ObserveObjects bool

	// HTTPClient is used for the checks. Nil means the transport the guard
	// uses for whoami (Config.HTTPClient's, or the guard's own). It is
	// copied: no redirects are followed, no cookies kept, and an answer
	// over 64 KiB is an error.
	HTTPClient *http.Client
}

// permitted asks Ory Permissions whether the identity of session s passes
// every Permit of the route: from the cache when it is on, then in one
// round of calls (ask).
func (rt *Route) permitted(ctx context.Context, r *Request, s *client.Session) verdict {
	k := rt.g.perm
	subject := ""
	if s.Identity != nil {
		subject = s.Identity.Id
	}
	if subject == "" {
		return verdict{kind: reasonPermDenied} // nobody to ask about
	}
	var now time.Time
	if k.cache != nil {
		now = k.now()
		k.cache.remember(s.Id, subject, rt.g.sidHash)
	}
	var ts []tuple // allocated only when Keto is to be asked
	for i := range rt.p.permits {
		p := &rt.p.permits[i]
		object := ""
		if p.object != nil {
			object = p.object(r)
		}
		if object == "" || !utf8.ValidString(object) {
			// Denied without asking Keto: an object that is not UTF-8
			// would reach Keto altered (JSON replaces the bad bytes), so
			// Keto would answer about another object.
			return verdict{kind: reasonPermDenied}
		}
		t := tuple{
			namespace: p.namespace, relation: p.relation, object: object, subject: subject,
			setNS: p.subjectSet.namespace, setRel: p.subjectSet.relation,
		}
		if k.cache != nil && k.cache.get(&t, now) {
			k.reportCached(ctx, &t)
			continue
		}
		if ts == nil {
			ts = make([]tuple, 0, len(rt.p.permits)-i)
		}
		// A copy: the object may point into memory the framework reuses,
		// and a call to Keto (shared with other requests) may outlive this
		// request.
		t.object = strings.Clone(object)
		ts = append(ts, t)
	}
	if len(ts) == 0 {
		return verdict{kind: reasonSession}
	}
	return k.ask(ctx, ts)
}

// refusePermit answers a request whose permission check did not pass. It
// is the same on optional routes: a session that lacks the permission is
// not let in anonymously (Optional), and Keto failing is never a reason to
// send anyone to log in.
func (rt *Route) refusePermit(r *Request, v verdict) Decision {
	row := &reasons[v.kind]
	retry := v.retryAfter
	if retry == 0 {
		retry = row.retry
	}
	return refuse(rt.isAPI(r), row, "", retry, nil)
}
