package core

import (
	"net/http"
	"strconv"
	"strings"
)

// Denial is why a request got no verified session. It is the error an
// adapter's ErrorHandler receives, and it unwraps (errors.Is) to exactly
// one of the sentinel errors (ErrNoSession, ErrAAL2Required, ...) and, when
// an app-defined Check failed, also to the app's own error.
//
// It carries what a renderer needs; Header and Body are the guard's
// standard answer, which an adapter's DefaultErrorHandler writes.
type Denial struct {
	// Reason is the sentinel error that names the denial.
	Reason error
	// Status is the status of the guard's standard answer: 303 for a
	// browser sent to a flow, 401, 403, 429, 502, 503 or 504.
	Status int
	// Location is the login, step-up or refresh flow URL the request should
	// go to, also for API clients (whose answer names it in JSON); empty
	// when there is none.
	Location string
	// RetryAfter is the Retry-After of the standard answer in seconds; zero
	// when it has none.
	RetryAfter int
	// API reports whether the request is answered as an API client (JSON)
	// rather than a browser (redirects, plain text).
	API bool
	// Cause is the error an app-defined Check returned, or nil.
	Cause error

	header http.Header
	body   []byte
}

// Error describes the denial; it never contains a credential.
func (d *Denial) Error() string {
	if d.Cause != nil {
		return d.Reason.Error() + ": " + d.Cause.Error()
	}
	return d.Reason.Error()
}

// Unwrap returns the sentinel reason and, when set, the Check's cause.
func (d *Denial) Unwrap() []error {
	if d.Cause != nil {
		return []error{d.Reason, d.Cause}
	}
	return []error{d.Reason}
}

// Header returns the headers of the guard's standard answer (Location,
// Content-Type, Retry-After, Cache-Control). Treat it as read-only.
func (d *Denial) Header() http.Header { return d.header }

// Body returns the body of the guard's standard answer: JSON in Ory's error
// shape for API clients, plain text for browsers, empty for a redirect.
// Treat it as read-only.
func (d *Denial) Body() []byte { return d.body }

// Decision returns the guard's standard answer for the denial, as an
// adapter writes it.
func (d *Denial) Decision() Decision {
	return Decision{Status: d.Status, Header: d.header, Body: d.body, Denial: d}
}

// refuse builds a denial answered with a status and a body: JSON in Ory's
// error shape for API clients, plain text for browsers. id is Ory's error
// id, msg the human-readable reason, loc the flow to go to (named in the
// JSON as redirect_browser_to), retry the Retry-After seconds (0: none).
func refuse(api bool, reason error, status int, id, msg, loc string, retry int, cause error) Decision {
	d := respond(api, status, id, msg, loc)
	if retry > 0 {
		d.Header.Set("Retry-After", strconv.Itoa(retry))
	}
	return deniedBy(d, reason, api, loc, retry, cause)
}

// sendTo builds a denial that sends a browser to an Ory flow with 303.
func sendTo(reason error, loc string) Decision {
	return deniedBy(redirect(loc), reason, false, loc, 0, nil)
}

// deniedBy records why a decision denies, as the *Denial that an adapter
// hands to the app's ErrorHandler.
func deniedBy(d Decision, reason error, api bool, loc string, retry int, cause error) Decision {
	d.Denial = &Denial{
		Reason:     reason,
		Status:     d.Status,
		Location:   strings.Clone(loc),
		RetryAfter: retry,
		API:        api,
		Cause:      cause,
		header:     d.Header,
		body:       d.Body,
	}
	return d
}

// anonymous is the decision for an optional route that runs without a
// session: the handler runs, and d tells it why there is none.
func anonymous(reason error, api bool) Decision {
	return Decision{Allow: true, Denial: &Denial{Reason: reason, API: api}}
}
