package suite_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/kratos"
	"github.com/oryguard/oryguard/internal/e2e/suite"
)

// Cases for security round 2 (RELIABILITY.md), against the real Kratos.

// longCache gives the guards a cache whose TTL cannot run out during a
// case, in both runs: what these cases show is that the guard does not
// wait for the TTL.
func longCache(c *core.Config) { c.Cache = core.CacheConfig{TTL: time.Minute} }

// logoutPost is a same-origin POST of a logout form (the examples' way):
// Sec-Fetch-Site: same-origin and the Origin of httptest's Host.
func logoutPost(h http.Header) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/logout", nil)
		r.Header = h.Clone()
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", "http://"+r.Host)
		return r
	}
}

// plantedCookies: cookies a sibling subdomain can plant for the parent
// domain (cookie tossing). Kratos reads the first cookie of its exact name
// that it can decode and ignores other names; for every mix, Kratos' own
// answer is asked first, and the guard must let the session in too.
// Before security round 2 the empty one and the five ory_session_* made
// the guard answer "no session" without asking Kratos.
func plantedCookies(t *testing.T, e *suite.Env) {
	bs, other := register(t, e), register(t, e)
	m := e.Guards(t, nil).Protected()
	real := sessionCookie + "=" + bs.Cookie.Value
	forged := sessionCookie + "=" + tamper(other.Cookie.Value)
	five := "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1"
	sent := func(h string) orytest.Recorded { return orytest.Recorded{Path: whoamiPath, Cookie: h} }
	for _, c := range []struct{ name, header, forwarded string }{
		{"empty session cookie after the real one", real + "; " + sessionCookie + "=", real},
		{"five ory_session_* cookies next to it", real + "; " + five, real + "; " + five},
		{"a forged session cookie before it", forged + "; " + real, forged + "; " + real},
		{"all of it, among app cookies", "theme=dark; " + forged + "; " + five + "; " + sessionCookie + "=; " + real + "; _ga=1",
			forged + "; " + five + "; " + real},
	} {
		if status, id := whoami(t, e, cookieHeader(c.header)); status != http.StatusOK || id != bs.SessionID {
			t.Fatalf("%s: Kratos answers %d session %q, want the session", c.name, status, id)
		}
		m.Send(t, browserReq("/dashboard", c.header)).Expect(t, c.name, allowed(bs.SessionID, bs.Email, "aal1", sent(c.forwarded)))
	}
}

// logoutEvicts: logging out through the guard takes the credential out of
// its cache at once. Before security round 2 the native client's token
// kept working from the cache for the rest of the TTL after a 204, and so
// did the browser's cookie after Kratos ended the session.
func logoutEvicts(t *testing.T, e *suite.Env) {
	api := registerAPI(t, e)
	apps := e.Guards(t, longCache)
	m, lo := apps.Protected(), apps.Logout()
	ok := allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token", ok)
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token, from the cache", fromCache(ok))
	lo.Send(t, logoutPost(http.Header{"X-Session-Token": {api.Token}})).Expect(t, "native logout",
		suite.Outcome{Outcome: csuite.Outcome{Status: http.StatusNoContent, CacheControl: noStore,
			Ory: []orytest.Recorded{{Path: "/self-service/logout/api"}}}})
	wantWhoami(t, e, "the logged-out token", http.Header{"X-Session-Token": {api.Token}}, http.StatusUnauthorized)
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token after the logout",
		with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(api.Token)))

	// Browsers: each adapter logs out a session of its own.
	owner := register(t, e)
	sessions := make([]*kratos.BrowserSession, len(suite.Targets()))
	for i := range sessions {
		sessions[i] = must(e.Kratos.LoginBrowser(t.Context(), owner.Email, password, nil))(t)
	}
	cookieOf := func(i int) string { return sessionCookie + "=" + sessions[i].Cookie.Value }
	bapps := e.Guards(t, longCache)
	bm, blo := bapps.Protected(), bapps.Logout()
	protected := func(i int) *http.Request { return browserReq("/dashboard", cookieOf(i))() }
	for phase, n := range []int{1, 0} { // asked, then from the cache
		for i, r := range bm.Serve(t, protected) {
			if r.Status != http.StatusOK || r.SessionID != sessions[i].SessionID || len(r.Ory) != n {
				t.Fatalf("%s, request %d: %d session %q, %d whoami calls, want 200, its session, %d", r.Target, phase+1, r.Status, r.SessionID, len(r.Ory), n)
			}
		}
	}
	rs := blo.Serve(t, func(i int) *http.Request {
		return logoutPost(http.Header{"Accept": {browserAccept}, "Cookie": {cookieOf(i)}})()
	})
	for i, r := range rs {
		if r.Status != http.StatusSeeOther || r.Location == nil || r.Location.Path != "/self-service/logout" {
			t.Fatalf("%s: logout answered %d %s, want 303 to Kratos' logout URL", r.Target, r.Status, r.Location)
		}
		hop := must(suite.Follow(t.Context(), sessions[i].Jar, r.RawLocation))(t)
		if hop.Status != http.StatusSeeOther {
			t.Fatalf("%s: following the logout URL: %s", r.Target, hop)
		}
		wantWhoami(t, e, r.Target+"'s logged-out session", cookieHeader(cookieOf(i)), http.StatusUnauthorized)
	}
	for i, r := range bm.Serve(t, protected) {
		if r.Status != http.StatusSeeOther || r.Location == nil || r.Location.Path != loginFlow ||
			len(r.Ory) != 1 || r.Ory[0].Cookie != cookieOf(i) {
			t.Fatalf("%s: after the logout: %d %s, Kratos asked %v; want 303 to login after asking Kratos", r.Target, r.Status, r.Location, r.Ory)
		}
	}
}

// stepUpAsksAgain: a token client whose aal1 session is cached is refused
// by a RequireAAL2 route, then completes TOTP through Kratos' API settings
// flow (Kratos raises the session to aal2). The guard asks Kratos again
// before refusing the cached copy, so the client passes at once. Before
// security round 2 it was refused until the cache entry expired.
func stepUpAsksAgain(t *testing.T, e *suite.Env) {
	api := registerAPI(t, e)
	m := e.Guards(t, longCache).Protected(core.RequireAAL2())
	refused := with(apiError(http.StatusForbidden, "session_aal2_required", reasonAAL2,
		e.OryURL()+loginFlow+"?aal=aal2&return_to=%2Fapi%2Fadmin"), whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "aal1 token", refused)
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "aal1 token again: the cached copy fails, Kratos is asked", refused)

	must(e.Kratos.EnableTOTPAPI(t.Context(), api.Token))(t)
	if s := tokenSession(t, e, api.Token); s.AAL != "aal2" {
		t.Fatalf("after TOTP through the API settings flow Kratos counts the token as %q, want aal2", s.AAL)
	}
	ok := allowed(api.SessionID, api.Email, "aal2", whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "after the step-up", ok)
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "after the step-up, from the cache", fromCache(ok))
}

// stepUpRedirectOrigin: Kratos' redirect_browser_to points at Kratos'
// own public URL, which is not the guards' OryURL (the recording proxy):
// without Config.AllowedRedirectOrigins the guard builds the aal2 login
// URL on OryURL itself, and Kratos (through the proxy) accepts it.
func stepUpRedirectOrigin(t *testing.T, e *suite.Env) {
	owner := register(t, e)
	must(e.Kratos.EnableTOTP(t.Context(), owner))(t)
	bs := must(e.Kratos.LoginBrowser(t.Context(), owner.Email, password, nil))(t)
	rs := e.Guards(t, nil).Protected().Send(t, browserReq("/dashboard", browserCookies(e, bs.Jar)))
	rs.Expect(t, "redirect_browser_to on another origin", with(toLogin(e.Ory.Host, "aal", "aal2", "return_to", "/dashboard"), whoamiCookie(bs.Cookie.Value)))
	loc := strings.Replace(rs.First().RawLocation, e.Ory.URL, e.Kratos.PublicURL(), 1)
	wantFlow(t, intoKratos(t, e, bs.Jar, loc), "/dashboard", false, "aal2", "totp")
}
