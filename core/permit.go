package core

import (
	"net/http"
	"time"
)

// Object names the object of a permission check for one request, such as
// a document ID taken from a path parameter (PathParam). An empty object
// denies the request.
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
func SubjectSet(namespace, relation string) PermitOption {
	return func(p *permit) {
		p.subjectSet.namespace, p.subjectSet.relation = namespace, relation
	}
}

// Permit requires, after the session check passes, that Ory Permissions
// (Keto) answers that the session's identity has relation on
// namespace:object. Several Permit options on one route are all required.
// A denial answers 403 (a *Denial that unwraps to ErrForbidden); Keto
// failing answers 502 or 504 and never lets the request in. Configure the
// permission API once, in Config.Permissions.
func Permit(namespace, relation string, object Object, opts ...PermitOption) Option {
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

	// Timeout bounds one check (or one batch). Zero means DefaultTimeout.
	Timeout time.Duration

	// Batch sends all of a route's checks in one call to
	// /relation-tuples/batch/check (Keto v0.14 and later, Ory Network).
	// Off: the checks go concurrently, one call each.
	Batch bool

	// CacheTTL, when positive, reuses an allowed answer for that long,
	// keyed by subject, namespace, object and relation. Zero (the default,
	// as Ory advises) asks on every request, so a change of permission
	// takes effect at once.
	CacheTTL time.Duration

	// HTTPClient is used for the checks. Nil means Config.HTTPClient's
	// transport. It is copied: no redirects are followed, no cookies kept.
	HTTPClient *http.Client
}
