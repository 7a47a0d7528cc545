package core

import (
	"encoding/json"
	"errors"
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
	// LoginLoop reports that the browser came back from Ory's login twice
	// without a session cookie the app can see (Ory's cookie is set for
	// another domain): the standard answer is then a page that says why,
	// with a link to Location, instead of another redirect (see
	// LoginLoopConfig). Reason is ErrNoSession.
	LoginLoop bool

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

// decision is the guard's standard answer for the denial, as an adapter
// writes it (Answer).
func (d *Denial) decision() Decision {
	return Decision{Status: d.Status, Header: d.header, Body: d.body, Denial: d}
}

// refuse builds a denial answered with the status and text of a reason's
// row: JSON in Ory's error shape for API clients, plain text for browsers.
// loc is the flow to go to (named in the JSON as redirect_browser_to),
// retry the Retry-After seconds (0: none).
func refuse(api bool, row *reasonRow, loc string, retry int, cause error) Decision {
	d := respond(api, row.status, row.oryID, row.text, loc)
	if retry > 0 {
		d.Header.Set("Retry-After", strconv.Itoa(retry))
	}
	return deniedBy(d, row.err, api, loc, retry, cause)
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

// oryError is Ory's error shape, so API clients parse one format whether
// the answer came from Ory or from the guard.
type oryError struct {
	Error struct {
		ID      string `json:"id,omitempty"`
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message,omitempty"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to,omitempty"`
}

// respond builds a denial: JSON in Ory's error shape for API clients, plain
// text for browsers.
func respond(api bool, status int, id, reason, redirect string) Decision {
	h := http.Header{"Cache-Control": {"no-store"}}
	var body []byte
	if api {
		var e oryError
		e.Error.ID = id
		e.Error.Code = status
		e.Error.Status = http.StatusText(status)
		e.Error.Reason = reason
		e.RedirectBrowserTo = redirect
		body, _ = json.Marshal(e) // cannot fail: strings and ints only
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		body = []byte(reason + "\n")
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return Decision{Status: status, Header: h, Body: body}
}

// redirect builds a 303 See Other to loc for a browser. loc is copied: it
// may be a substring of the request, whose memory Fiber reuses.
func redirect(loc string) Decision {
	return Decision{
		Status: http.StatusSeeOther,
		Header: http.Header{"Location": {strings.Clone(loc)}, "Cache-Control": {"no-store"}},
	}
}

// deny answers a request that gets no session, for the reason res.kind:
// on an optional route the handler runs without one; otherwise a browser is
// sent to the reason's flow when it has one, and every other answer is the
// reason's status and text (JSON in Ory's error shape for API clients). Ory
// failing, rate-limiting or the guard being saturated has no flow: sending
// users to log in then would loop them into a broken login page. refresh
// makes a step-up re-authenticate too; cause is a failed Check's error.
func (rt *Route) deny(r *Request, res result, refresh bool, cause error) Decision {
	row := &reasons[res.kind]
	api := rt.isAPI(r)
	if rt.p.optional {
		d := anonymous(row.err, api)
		d.Denial.Cause = cause
		return d
	}
	browserLoc, apiLoc := rt.g.flowFor(r, row.flow, res.redirect, refresh)
	if !api && browserLoc != "" {
		return sendTo(row.err, browserLoc)
	}
	retry := res.retryAfter
	if retry == 0 {
		retry = row.retry
	}
	return refuse(api, row, apiLoc, retry, cause)
}

// ReasonCode is a stable, machine-readable name of a denial's reason, for
// clients that branch on it rather than on a message: the RPC adapters put
// it in the reason of their errdetails.ErrorInfo. The values never change.
type ReasonCode string

// The reason codes, one per sentinel error.
const (
	ReasonNoSession       ReasonCode = "NO_SESSION"       // ErrNoSession
	ReasonAAL2Required    ReasonCode = "AAL2_REQUIRED"    // ErrAAL2Required
	ReasonRefreshRequired ReasonCode = "REFRESH_REQUIRED" // ErrRefreshRequired
	ReasonForbidden       ReasonCode = "FORBIDDEN"        // ErrForbidden
	ReasonRateLimited     ReasonCode = "RATE_LIMITED"     // ErrRateLimited
	ReasonOryUnavailable  ReasonCode = "ORY_UNAVAILABLE"  // ErrOryUnavailable
	ReasonOryTimeout      ReasonCode = "ORY_TIMEOUT"      // ErrOryTimeout
	ReasonBusy            ReasonCode = "BUSY"             // ErrBusy

	ReasonPermissionDenied       ReasonCode = "PERMISSION_DENIED"       // ErrPermissionDenied (a Permit check)
	ReasonPermissionsUnavailable ReasonCode = "PERMISSIONS_UNAVAILABLE" // ErrPermissionsUnavailable (a Permit check)
)

// reasonCodes names each sentinel error, the narrower ones (which unwrap
// to a broader one) first.
var reasonCodes = [...]struct {
	err  error
	code ReasonCode
}{
	{ErrPermissionDenied, ReasonPermissionDenied},
	{ErrPermissionsUnavailable, ReasonPermissionsUnavailable},
	{ErrNoSession, ReasonNoSession},
	{ErrAAL2Required, ReasonAAL2Required},
	{ErrRefreshRequired, ReasonRefreshRequired},
	{ErrForbidden, ReasonForbidden},
	{ErrRateLimited, ReasonRateLimited},
	{ErrOryUnavailable, ReasonOryUnavailable},
	{ErrOryTimeout, ReasonOryTimeout},
	{ErrBusy, ReasonBusy},
}

// ReasonCode is the stable name of d's reason; "" for a nil *Denial or one
// whose Reason is not one of the sentinel errors.
func (d *Denial) ReasonCode() ReasonCode {
	if d == nil || d.Reason == nil {
		return ""
	}
	for _, rc := range reasonCodes {
		if errors.Is(d.Reason, rc.err) {
			return rc.code
		}
	}
	return ""
}
