package flows_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/flows"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

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

// logoutEvicts: logging out through the guard takes the credential out of
// its cache at once: neither the native client's token after a 204 nor the
// browser's cookie after Kratos ended the session keeps working from the
// cache for the rest of the TTL.
func logoutEvicts(t *testing.T, e *flows.Env) {
	api := registerAPI(t, e)
	apps := e.Guards(t, longCache)
	m, lo := apps.Protected(), apps.Logout()
	ok := allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token", ok)
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token, from the cache", fromCache(ok))
	lo.Send(t, logoutPost(http.Header{"X-Session-Token": {api.Token}})).Expect(t, "native logout",
		flows.Outcome{Outcome: csuite.Outcome{Status: http.StatusNoContent, CacheControl: noStore,
			Ory: []orytest.Recorded{{Path: "/self-service/logout/api"}}}})
	wantWhoami(t, e, "the logged-out token", http.Header{"X-Session-Token": {api.Token}}, http.StatusUnauthorized)
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "token after the logout",
		with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(api.Token)))

	// Browsers: each adapter logs out a session of its own.
	owner := register(t, e)
	sessions := make([]*harness.BrowserSession, len(flows.Targets()))
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
		hop := must(flows.Follow(t.Context(), sessions[i].Jar, r.RawLocation))(t)
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
