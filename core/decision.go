package core

import (
	"encoding/json"
	"net/http"
	"strings"

	client "github.com/ory/client-go"
)

// Decision is what the guard decided for one request. An adapter carries
// it out and branches on nothing else: when Allow is true it runs the next
// handler with Session (nil on an optional route without a session) in the
// request context and adds Header to the response; otherwise it writes
// Header, Status and Body and stops the chain.
type Decision struct {
	// Allow reports whether the next handler runs.
	Allow bool
	// Session is the verified session, or nil.
	Session *client.Session
	// Status is the response status when Allow is false.
	Status int
	// Header holds the response headers to set: Location, Content-Type,
	// Retry-After, Cache-Control, and Set-Cookie when Ory extended the
	// session cookie (also when Allow is true). It may be nil.
	Header http.Header
	// Body is the response body when Allow is false; it may be empty.
	Body []byte
	// Denial is set whenever the request has no verified session: when
	// Allow is false it is the denial (an adapter's ErrorHandler gets it;
	// Status, Header and Body are its standard answer); when Allow is true
	// on an optional route it says why the handler runs without a session
	// (ErrNoSession for an anonymous request, ErrOryUnavailable and the
	// like when Ory failed).
	Denial *Denial
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

// Reasons used in responses; also the text of browser error pages.
const (
	reasonNoSession   = "No valid Ory session was found in the request."
	reasonAAL2        = "The session must be verified with a second factor."
	reasonRefresh     = "The session must be re-authenticated."
	reasonRateLimited = "Ory is rate-limiting session checks; try again later."
	reasonUnavailable = "The session could not be verified because Ory is unavailable."
	reasonTimeout     = "The session could not be verified in time."
	reasonBusy        = "Too many session checks are in flight; try again shortly."
	reasonForbidden   = "Ory refused the session."
	reasonCheck       = "The session does not meet this route's requirements."
)

func allow(s *client.Session, h http.Header) Decision {
	return Decision{Allow: true, Session: s, Header: h}
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
