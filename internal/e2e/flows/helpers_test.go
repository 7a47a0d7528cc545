package flows_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/flows"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

const (
	password = "correct-horse-battery-staple-42"
	// uiURL is the harness's default UI URL: Kratos' login UI, its
	// default_browser_return_url (uiURL + "/") and its only allowed
	// return URL.
	uiURL = "http://127.0.0.1:4455"

	// The guard's texts, spelled out so that every expectation states exact
	// bytes (as the conformance suite does).
	reasonNoSession   = "No valid Ory session was found in the request."
	reasonAAL2        = "The session must be verified with a second factor."
	reasonRefresh     = "The session must be re-authenticated."
	reasonUnavailable = "The session could not be verified because Ory is unavailable."
	reasonCheck       = "The session does not meet this route's requirements."

	jsonType = "application/json; charset=utf-8"
	textType = "text/plain; charset=utf-8"
	noStore  = "no-store"

	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

	sessionCookie = harness.SessionCookieName
	whoamiPath    = "/sessions/whoami"
	logoutFlow    = "/self-service/logout/browser"
	loginFlow     = "/self-service/login/browser"
)

// --- expectations -------------------------------------------------------------

func allowed(id, email, aal string, ory ...orytest.Recorded) flows.Outcome {
	return flows.Outcome{Outcome: csuite.Outcome{
		Status:           http.StatusOK,
		Body:             "protected handler ran with session " + id + "\n",
		ContentType:      csuite.ProtectedContentType,
		HandlerRuns:      1,
		SessionID:        id,
		Email:            email,
		ContextSessionID: id,
		Ory:              ory,
	}, AAL: aal}
}

// anonymous is the protected handler running without a session; sessionErr
// is what the adapter's SessionError returned (see why).
func anonymous(sessionErr *csuite.Seen, ory ...orytest.Recorded) flows.Outcome {
	return flows.Outcome{Outcome: csuite.Outcome{
		Status:       http.StatusOK,
		Body:         "protected handler ran without a session\n",
		ContentType:  csuite.ProtectedContentType,
		HandlerRuns:  1,
		SessionError: sessionErr,
		Ory:          ory,
	}}
}

// custom is the conformance suite's custom error page (csuite.ErrorsPage)
// for the denial the ErrorHandler got.
func custom(d csuite.Seen, ory ...orytest.Recorded) flows.Outcome {
	return flows.Outcome{Outcome: csuite.Outcome{
		Status:      d.Status,
		Body:        fmt.Sprintf("custom: %d %s\n", d.Status, d.Reason),
		ContentType: csuite.PageContentType,
		Errors:      []csuite.Seen{d},
		Ory:         ory,
	}}
}

// why is the *core.Denial SessionError returns on an optional route that
// runs without a session: its sentinel's name and whether the request was
// answered as an API client.
func why(reason string, api bool) *csuite.Seen {
	return &csuite.Seen{Reason: reason, Denial: true, API: api}
}

// toLogin is a 303 to Kratos' browser login flow at host (the recording
// proxy for URLs the guard builds); kv are the decoded query parameters, in
// pairs.
func toLogin(host string, kv ...string) flows.Outcome {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return flows.Outcome{Outcome: csuite.Outcome{
		Status:       http.StatusSeeOther,
		Location:     &csuite.Location{Scheme: "http", Host: host, Path: loginFlow, Query: q},
		CacheControl: noStore,
	}}
}

// redirectTo is a 303 to raw.
func redirectTo(raw string) flows.Outcome {
	return flows.Outcome{Outcome: csuite.Outcome{
		Status:       http.StatusSeeOther,
		Location:     flows.ParseLocation(raw),
		CacheControl: noStore,
	}}
}

// apiError is the guard's JSON answer in Ory's error shape, spelled out.
func apiError(status int, id, reason, redirect string) flows.Outcome {
	var b strings.Builder
	b.WriteString(`{"error":{`)
	if id != "" {
		fmt.Fprintf(&b, `"id":%s,`, jsonString(id))
	}
	fmt.Fprintf(&b, `"code":%d,"status":%s,"reason":%s}`, status, jsonString(http.StatusText(status)), jsonString(reason))
	if redirect != "" {
		fmt.Fprintf(&b, `,"redirect_browser_to":%s`, jsonString(redirect))
	}
	b.WriteString("}")
	return flows.Outcome{Outcome: csuite.Outcome{Status: status, Body: b.String(), ContentType: jsonType, CacheControl: noStore}}
}

// noSessionJSON is the 401 a JSON client without a usable session cookie
// gets: Ory's error shape with, in redirect_browser_to, the login URL the
// browser redirect would have used (a token client's 401 names none).
func noSessionJSON(host, returnTo string) flows.Outcome {
	login := "http://" + host + loginFlow + "?" + url.Values{"return_to": {returnTo}}.Encode()
	return apiError(http.StatusUnauthorized, "", reasonNoSession, login)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // escapes & < > as \u0026 ..., as the guard's encoder does
	return string(b)
}

// browserError is the guard's plain-text answer to a browser.
func browserError(status int, reason string) flows.Outcome {
	return flows.Outcome{Outcome: csuite.Outcome{Status: status, Body: reason + "\n", ContentType: textType, CacheControl: noStore}}
}

func with(o flows.Outcome, ory ...orytest.Recorded) flows.Outcome {
	o.Ory = append(append([]orytest.Recorded(nil), o.Ory...), ory...)
	return o
}

// fromCache is o as answered from the guard's cache: nothing reaches
// Kratos.
func fromCache(o flows.Outcome) flows.Outcome {
	o.Ory = nil
	return o
}

func whoamiCookie(value string) orytest.Recorded {
	return orytest.Recorded{Path: whoamiPath, Cookie: sessionCookie + "=" + value}
}

func whoamiToken(token string) orytest.Recorded {
	return orytest.Recorded{Path: whoamiPath, SessionToken: token}
}

// withReturnTo is Ory's redirect_browser_to with return_to set, as the
// guard hands it on.
func withReturnTo(t *testing.T, raw, returnTo string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("redirect_browser_to %q: %v", raw, err)
	}
	q := u.Query()
	q.Set("return_to", returnTo)
	u.RawQuery = q.Encode()
	return u.String()
}

// --- requests -------------------------------------------------------------------

// browserReq is a browser's GET of target with one Cookie header per
// element of cookies.
func browserReq(target string, cookies ...string) func() *http.Request {
	return request(target, "Accept", browserAccept, cookies)
}

// jsonReq is a GET of target that prefers JSON, with one Cookie header per
// element of cookies.
func jsonReq(target string, cookies ...string) func() *http.Request {
	return request(target, "Accept", "application/json", cookies)
}

func tokenReq(target, token string) func() *http.Request {
	return request(target, "X-Session-Token", token, nil)
}

func bearerReq(target, token string) func() *http.Request {
	return request(target, "Authorization", "Bearer "+token, nil)
}

// headersReq is a GET of target with exactly the headers h.
func headersReq(target string, h http.Header) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header = h.Clone()
		return r
	}
}

func request(target, key, value string, cookies []string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set(key, value)
		for _, c := range cookies {
			r.Header.Add("Cookie", c)
		}
		return r
	}
}

// --- users ------------------------------------------------------------------------

func newEmail() string { return strings.ToLower(rand.Text()[:16]) + "@example.com" }

func register(t *testing.T, e *flows.Env) *harness.BrowserSession {
	t.Helper()
	return must(e.Kratos.RegisterBrowser(t.Context(), newEmail(), password))(t)
}

func registerAPI(t *testing.T, e *flows.Env) *harness.APISession {
	t.Helper()
	return must(e.Kratos.RegisterAPI(t.Context(), newEmail(), password))(t)
}

// browserCookies is the Cookie header the browser of bs sends to a page on
// Kratos' host (127.0.0.1, any port): the session cookie, Kratos' CSRF
// cookie, and the app cookies given.
func browserCookies(e *flows.Env, jar http.CookieJar, app ...string) string {
	parts := append([]string(nil), app...)
	if c := flows.CookieHeader(jar, e.Kratos.PublicURL()); c != "" {
		parts = append(parts, c)
	}
	return strings.Join(parts, "; ")
}

func newJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	check(t, err)
	return jar
}

// session asks Kratos about a session cookie and decodes the 200 answer.
func session(t *testing.T, e *flows.Env, c *http.Cookie) *flows.SessionInfo {
	t.Helper()
	return must(flows.ParseSession(must(e.Kratos.WhoamiCookie(t.Context(), c))(t)))(t)
}

func tokenSession(t *testing.T, e *flows.Env, token string) *flows.SessionInfo {
	t.Helper()
	return must(flows.ParseSession(must(e.Kratos.WhoamiToken(t.Context(), token))(t)))(t)
}

// whoami asks Kratos directly with the given headers and returns the status
// and the session id of a 200 answer: what Kratos itself decides for a
// request, to hold the guard's answer against.
func whoami(t *testing.T, e *flows.Env, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Kratos.PublicURL()+whoamiPath, nil)
	check(t, err)
	req.Header = h.Clone()
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	check(t, err)
	defer resp.Body.Close()
	var v struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v.ID
}

func wantWhoami(t *testing.T, e *flows.Env, what string, h http.Header, status int) {
	t.Helper()
	if got, _ := whoami(t, e, h); got != status {
		t.Fatalf("Kratos' whoami for %s = %d, want %d", what, got, status)
	}
}

func cookieHeader(v string) http.Header { return http.Header{"Cookie": {v}} }

// --- Kratos flows -------------------------------------------------------------------

// intoKratos follows loc (a Location the guard answered with) as the
// browser with jar, expects Kratos to send it to the login UI with a new
// flow, and returns that flow.
func intoKratos(t *testing.T, e *flows.Env, jar http.CookieJar, loc string) *flows.Flow {
	t.Helper()
	hop := must(flows.Follow(t.Context(), jar, loc))(t)
	id, err := flows.FlowID(hop, uiURL)
	if err != nil {
		t.Fatalf("following %s into Kratos: %v", loc, err)
	}
	return must(flows.LoginFlow(t.Context(), jar, e.Kratos.PublicURL(), id))(t)
}

// wantFlow checks what Kratos recorded in a login flow it created.
func wantFlow(t *testing.T, f *flows.Flow, returnTo string, refresh bool, aal string, methods ...string) {
	t.Helper()
	if f.Type != "browser" || f.ReturnTo != returnTo || f.Refresh != refresh || f.RequestedAAL != aal {
		t.Errorf("Kratos' login flow: type %q return_to %q refresh %v requested_aal %q; want browser %q %v %q (request_url %s)",
			f.Type, f.ReturnTo, f.Refresh, f.RequestedAAL, returnTo, refresh, aal, f.RequestURL)
	}
	if got := strings.Join(f.Methods(), ","); got != strings.Join(methods, ",") {
		t.Errorf("Kratos' login flow offers methods [%s], want [%s]", got, strings.Join(methods, ","))
	}
}

// completed submits a login flow and expects Kratos to send the browser to
// wantTo with a new session cookie, which it returns.
func completed(t *testing.T, e *flows.Env, jar http.CookieJar, f *flows.Flow, fields url.Values, wantTo string) *http.Cookie {
	t.Helper()
	hop := must(flows.SubmitLoginFlow(t.Context(), jar, f, fields))(t)
	if hop.Status != http.StatusSeeOther || hop.Location != wantTo {
		t.Fatalf("submitting the login flow: got %s, want 303 to %s", hop, wantTo)
	}
	c := flows.SessionCookie(jar, e.Kratos.PublicURL())
	if c == nil || !hasSetCookie(hop.Header, sessionCookie) {
		t.Fatalf("submitting the login flow set no new %s cookie: %s", sessionCookie, hop)
	}
	return c
}

func hasSetCookie(h http.Header, name string) bool {
	for _, sc := range h.Values("Set-Cookie") {
		if strings.HasPrefix(sc, name+"=") {
			return true
		}
	}
	return false
}

func passwordFields(email string) url.Values {
	return url.Values{"method": {"password"}, "identifier": {email}, "password": {password}}
}

// --- time ------------------------------------------------------------------------------

// within reports whether every adapter's request ended before
// since[i].Start+d: then the guard, whose clock read at each request lies
// between Start and End, certainly saw less than d pass.
func within(rs, since flows.Results, d time.Duration) bool {
	for i := range rs {
		if !rs[i].End.Before(since[i].Start.Add(d)) {
			return false
		}
	}
	return true
}

// endedBy reports whether every request ended by at.
func endedBy(rs flows.Results, at time.Time) bool {
	for _, r := range rs {
		if r.End.After(at) {
			return false
		}
	}
	return true
}

func lastEnd(rss ...flows.Results) time.Time {
	var last time.Time
	for _, rs := range rss {
		for _, r := range rs {
			if r.End.After(last) {
				last = r.End
			}
		}
	}
	return last
}

// --- errors ------------------------------------------------------------------------------

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// must(f())(t) returns f's value, or fails the test with f's error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
