package flows_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/flows"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/pquerna/otp/totp"
)

const (
	// cacheTTL is the guards' cache TTL in the cache-on run.
	cacheTTL = 2 * time.Second
	// maxAuthAge is the MaxAuthAge of the authentication-age case.
	maxAuthAge = 2 * time.Second
)

type e2eCase struct {
	name string
	run  func(t *testing.T, e *flows.Env)
}

// TestAgainstKratos runs every case through every adapter against a
// real Kratos, once with the guards' session cache off and once with it on
// (TTL cacheTTL), each run with a Kratos of its own. Each case has its own
// identities and its own recording proxy; the cases of a run take turns on
// their Kratos while they work and wait for clocks (cache TTL, session
// age) at the same time.
func TestAgainstKratos(t *testing.T) {
	t.Parallel()
	runs := []flows.Run{{Name: "cache-off"}, {Name: "cache-on", Cache: core.CacheConfig{TTL: cacheTTL}}}
	cases := []e2eCase{
		{"no session", noSession},
		{"real session cookie, app cookies not forwarded", sessionCookieCase},
		{"real session token and Authorization Bearer", sessionToken},
		{"credential precedence as in Kratos", precedence},
		{"credentials Kratos does not know", unknownCredentials},
		{"revoked session", revokedSession},
		{"every session of the identity revoked", identitySessionsRevoked},
		{"logged-out session", loggedOut},
		{"identity set to inactive", inactiveIdentity},
		{"Kratos requires aal2 (TOTP identity, password login)", kratosRequiresAAL2},
		{"RequireAAL2 policy", requireAAL2},
		{"MaxAuthAge", maxAuthAgeCase},
		{"refresh handler", refreshHandler},
		{"logout handler", logoutHandler},
		{"return_to", returnTo},
		{"Optional policy", optional},
		{"session extended by Kratos: Set-Cookie passed on", extendedSession},
		{"two session cookies", duplicateCookies},
		{"planted cookies", plantedCookies},
		{"logout through the guard evicts the cache", logoutEvicts},
		{"token client steps up with TOTP through the API", stepUpAsksAgain},
		{"redirect_browser_to on an unknown origin", stepUpRedirectOrigin},
		{"verified email required (core.Check)", verifiedEmail},
	}
	flows.Concurrently(t, []string{runs[0].Name, runs[1].Name}, func(t *testing.T, i int) {
		k := flows.Share(harness.StartKratosT(t, harness.KratosOptions{}))
		names := make([]string, len(cases))
		for j, c := range cases {
			names[j] = c.name
		}
		flows.Concurrently(t, names, func(t *testing.T, j int) {
			cases[j].run(t, flows.NewEnv(t, k, runs[i]))
		})
	})
}

// noSession: no credential. Browsers go to Kratos' login flow with
// return_to, API clients get 401; Kratos accepts the login URL, and the
// browser that signs in there comes back with a session the guard accepts.
func noSession(t *testing.T, e *flows.Env) {
	m := e.Guards(t, nil).Protected()
	rs := m.Send(t, browserReq("/dashboard?tab=1"))
	rs.Expect(t, "browser", toLogin(e.Ory.Host, "return_to", "/dashboard?tab=1"))
	m.Send(t, jsonReq("/dashboard")).Expect(t, "API client", noSessionJSON(e.Ory.Host, "/dashboard"))

	user := registerAPI(t, e)
	jar := newJar(t)
	f := intoKratos(t, e, jar, rs.First().RawLocation)
	wantFlow(t, f, "/dashboard?tab=1", false, "aal1", "password")
	c := completed(t, e, jar, f, passwordFields(user.Email), uiURL+"/dashboard?tab=1")
	s := session(t, e, c)
	m.Send(t, browserReq("/dashboard?tab=1", browserCookies(e, jar))).
		Expect(t, "back from the login flow", allowed(s.ID, user.Email, "aal1", whoamiCookie(c.Value)))
}

// sessionCookieCase: a real browser session. The browser sends the app's
// cookies and Kratos' CSRF cookie too; only the session cookie reaches
// Kratos (the recording proxy shows what was forwarded).
func sessionCookieCase(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	m := e.Guards(t, nil).Protected()
	want := allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value))
	again := want
	if e.Cached() {
		again = fromCache(want)
	}
	all := browserCookies(e, bs.Jar, "theme=dark", "_ga=GA1.2.1234.5678")
	if !strings.Contains(all, "csrf_token_") || !strings.Contains(all, sessionCookie+"=") {
		t.Fatalf("the browser's cookies %q lack Kratos' CSRF or session cookie", all)
	}
	m.Send(t, browserReq("/dashboard", all)).Expect(t, "session cookie among app and CSRF cookies", want)
	m.Send(t, browserReq("/dashboard", "theme=dark", sessionCookie+"="+bs.Cookie.Value)).
		Expect(t, "session cookie in a second Cookie header", again)
	m.Send(t, jsonReq("/api/me", all)).Expect(t, "same cookies from a JSON client", again)
}

// sessionToken: native sessions, as X-Session-Token and as
// Authorization: Bearer (which the guard sends on as X-Session-Token).
func sessionToken(t *testing.T, e *flows.Env) {
	tok, bearer := registerAPI(t, e), registerAPI(t, e)
	m := e.Guards(t, nil).Protected()
	m.Send(t, tokenReq("/api/me", tok.Token)).
		Expect(t, "X-Session-Token", allowed(tok.SessionID, tok.Email, "aal1", whoamiToken(tok.Token)))
	m.Send(t, bearerReq("/api/me", bearer.Token)).
		Expect(t, "Authorization: Bearer", allowed(bearer.SessionID, bearer.Email, "aal1", whoamiToken(bearer.Token)))
}

// precedence: Kratos reads X-Session-Token, then its cookie, then
// Authorization: Bearer. For each mix, Kratos' own answer is asked first
// and the guard must decide the same.
func precedence(t *testing.T, e *flows.Env) {
	bs, api := register(t, e), registerAPI(t, e)
	m := e.Guards(t, nil).Protected()
	cookie := sessionCookie + "=" + bs.Cookie.Value
	bogus := "ory_st_" + strings.Repeat("x", 32)

	for _, c := range []struct {
		name string
		h    http.Header
		want flows.Outcome
	}{
		{
			"unknown X-Session-Token beats a valid cookie",
			http.Header{"X-Session-Token": {bogus}, "Cookie": {cookie}},
			with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(bogus)),
		},
		{
			"valid cookie beats an unknown Bearer token",
			http.Header{"Authorization": {"Bearer " + bogus}, "Cookie": {cookie}, "Accept": {browserAccept}},
			allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)),
		},
		{
			"X-Session-Token beats a cookie of another identity",
			http.Header{"X-Session-Token": {api.Token}, "Cookie": {cookie}},
			allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token)),
		},
	} {
		status, id := whoami(t, e, c.h)
		if status != c.want.Status || id != c.want.SessionID {
			t.Fatalf("%s: Kratos answers %d session %q, the case expects %d session %q", c.name, status, id, c.want.Status, c.want.SessionID)
		}
		m.Send(t, headersReq("/api/me", c.h)).Expect(t, c.name, c.want)
	}
}

// unknownCredentials: Kratos answers 401.
func unknownCredentials(t *testing.T, e *flows.Env) {
	// The shape of a Kratos cookie (base64 of date|value|mac), signed by no
	// one.
	cookie := "MTc5NTc4MDg0NHxScWhQWGJvZnphTWNnMW00Smt2Q2JjUWRzVDN0ekNUZk9ickhLaEpTVTJLR2s5eEpCSkxQUGxNcGNWOTdlQlNiVE90VnR4UTBVS2xl"
	token := "ory_st_" + strings.Repeat("y", 32)
	wantWhoami(t, e, "an unknown cookie", cookieHeader(sessionCookie+"="+cookie), http.StatusUnauthorized)
	m := e.Guards(t, nil).Protected()
	m.Send(t, browserReq("/dashboard", sessionCookie+"="+cookie)).
		Expect(t, "unknown cookie, browser", with(toLogin(e.Ory.Host, "return_to", "/dashboard"), whoamiCookie(cookie)))
	m.Send(t, tokenReq("/api/me", token)).
		Expect(t, "unknown token", with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(token)))
}

// probe is one request a revocation case sends before and after the
// session ends.
type probe struct {
	name            string
	m               *flows.Mount
	req             func() *http.Request
	allowed, denied flows.Outcome
}

// ended sends every probe (allowed), runs end, and sends them again. With
// the cache off they are denied at once. With it on they are still allowed
// from the cache (the documented trade-off) while the TTL certainly has not
// passed, and denied once it certainly has.
func ended(t *testing.T, e *flows.Env, end func(), probes ...probe) {
	t.Helper()
	before := make([]flows.Results, len(probes))
	for i, p := range probes {
		before[i] = p.m.Send(t, p.req)
		before[i].Expect(t, p.name+", before", p.allowed)
	}
	end()
	if !e.Cached() {
		for _, p := range probes {
			p.m.Send(t, p.req).Expect(t, p.name+", after", p.denied)
		}
		return
	}
	for i, p := range probes {
		rs := p.m.Send(t, p.req)
		if within(rs, before[i], e.Run.Cache.TTL) {
			rs.Expect(t, p.name+", after, within the cache TTL", fromCache(p.allowed))
		} else {
			t.Logf("%s: the machine is too slow to check the answer within the cache TTL", p.name)
		}
	}
	e.SleepUntil(t, lastEnd(before...).Add(e.Run.Cache.TTL))
	for _, p := range probes {
		p.m.Send(t, p.req).Expect(t, p.name+", after the cache TTL", p.denied)
	}
}

// sessionProbes are the browser, JSON-client and token probes for bs and
// api. The JSON client has guards of its own, so that it does not share
// the browser's cache entry.
func sessionProbes(t *testing.T, e *flows.Env, bs *harness.BrowserSession, api *harness.APISession) []probe {
	m, m2 := e.Guards(t, nil).Protected(), e.Guards(t, nil).Protected()
	cookies := browserCookies(e, bs.Jar, "theme=dark") // taken now: a logout empties the jar
	return []probe{
		{
			"browser", m, browserReq("/dashboard", cookies),
			allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)),
			with(toLogin(e.Ory.Host, "return_to", "/dashboard"), whoamiCookie(bs.Cookie.Value)),
		},
		{
			"JSON client with the cookie", m2, jsonReq("/api/me", cookies),
			allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)),
			with(noSessionJSON(e.Ory.Host, "/api/me"), whoamiCookie(bs.Cookie.Value)),
		},
		{
			"session token", m, tokenReq("/api/me", api.Token),
			allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token)),
			with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(api.Token)),
		},
	}
}

func wantEnded(t *testing.T, e *flows.Env, bs *harness.BrowserSession, api *harness.APISession) {
	t.Helper()
	wantWhoami(t, e, "the ended browser session", cookieHeader(sessionCookie+"="+bs.Cookie.Value), http.StatusUnauthorized)
	wantWhoami(t, e, "the ended token", http.Header{"X-Session-Token": {api.Token}}, http.StatusUnauthorized)
}

// revokedSession: sessions revoked through the admin API
// (DELETE /admin/sessions/{id}).
func revokedSession(t *testing.T, e *flows.Env) {
	bs, api := register(t, e), registerAPI(t, e)
	ended(t, e, func() {
		check(t, e.Kratos.RevokeSession(t.Context(), bs.SessionID))
		check(t, e.Kratos.RevokeSession(t.Context(), api.SessionID))
		wantEnded(t, e, bs, api)
	}, sessionProbes(t, e, bs, api)...)
}

// identitySessionsRevoked: DELETE /admin/identities/{id}/sessions ends the
// identity's browser and native sessions.
func identitySessionsRevoked(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	api := must(e.Kratos.LoginAPI(t.Context(), bs.Email, password))(t)
	ended(t, e, func() {
		check(t, e.Kratos.DeleteIdentitySessions(t.Context(), bs.IdentityID))
		wantEnded(t, e, bs, api)
	}, sessionProbes(t, e, bs, api)...)
}

// loggedOut: the browser logged out through Kratos' logout flow, the native
// client through the API.
func loggedOut(t *testing.T, e *flows.Env) {
	bs, api := register(t, e), registerAPI(t, e)
	ended(t, e, func() {
		check(t, e.Kratos.LogoutBrowser(t.Context(), bs))
		check(t, e.Kratos.LogoutAPI(t.Context(), api.Token))
		wantEnded(t, e, bs, api)
	}, sessionProbes(t, e, bs, api)...)
}

// inactiveIdentity: an identity set to inactive through the admin API.
// Kratos' whoami answers 401 for its sessions, and its login UI no longer
// counts the browser as signed in; set active again, the same sessions
// work.
func inactiveIdentity(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	api := must(e.Kratos.LoginAPI(t.Context(), bs.Email, password))(t)
	check(t, flows.SetIdentityState(t.Context(), e.Kratos.AdminURL(), bs.IdentityID, "inactive"))
	wantEnded(t, e, bs, api)

	m := e.Guards(t, nil).Protected()
	cookies := browserCookies(e, bs.Jar)
	rs := m.Send(t, browserReq("/dashboard", cookies))
	rs.Expect(t, "browser", with(toLogin(e.Ory.Host, "return_to", "/dashboard"), whoamiCookie(bs.Cookie.Value)))
	m.Send(t, tokenReq("/api/me", api.Token)).
		Expect(t, "session token", with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(api.Token)))
	f := intoKratos(t, e, bs.Jar, rs.First().RawLocation)
	wantFlow(t, f, "/dashboard", false, "aal1", "password")

	check(t, flows.SetIdentityState(t.Context(), e.Kratos.AdminURL(), bs.IdentityID, "active"))
	m.Send(t, browserReq("/dashboard", cookies)).
		Expect(t, "browser, identity active again", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))
	m.Send(t, tokenReq("/api/me", api.Token)).
		Expect(t, "session token, identity active again", allowed(api.SessionID, bs.Email, "aal1", whoamiToken(api.Token)))
}

// kratosRequiresAAL2: an identity with TOTP signs in with its password
// alone. Kratos (required_aal: highest_available) answers whoami with 403
// session_aal2_required; the guard sends browsers to Kratos'
// redirect_browser_to with return_to, and API clients get that URL in a 403.
// Followed into Kratos, the URL opens an aal2 flow offering TOTP; completed,
// the browser comes back with an aal2 session the guard accepts.
func kratosRequiresAAL2(t *testing.T, e *flows.Env) {
	ctx := t.Context()
	owner := register(t, e)
	secret := must(e.Kratos.EnableTOTP(ctx, owner))(t)
	bs := must(e.Kratos.LoginBrowser(ctx, owner.Email, password, nil))(t)
	api := must(e.Kratos.LoginAPI(ctx, owner.Email, password))(t)
	wb := must(e.Kratos.WhoamiCookie(ctx, bs.Cookie))(t)
	wt := must(e.Kratos.WhoamiToken(ctx, api.Token))(t)
	for _, w := range []*harness.WhoamiResponse{wb, wt} {
		if w.Status != http.StatusForbidden || w.ErrorID != "session_aal2_required" ||
			!strings.HasPrefix(w.RedirectBrowserTo, e.Kratos.PublicURL()+loginFlow+"?") {
			t.Fatalf("Kratos' whoami for an aal1 session of a TOTP identity: %d %q redirect_browser_to %q; body %s",
				w.Status, w.ErrorID, w.RedirectBrowserTo, w.Body)
		}
	}

	// Kratos' redirect_browser_to is on its own public URL, not the guards'
	// OryURL (the recording proxy): an origin the app allows.
	apps := e.Guards(t, func(c *core.Config) { c.AllowedRedirectOrigins = []string{e.Kratos.PublicURL()} })
	m := apps.Protected()
	cookies := browserCookies(e, bs.Jar)
	stepUp := with(redirectTo(withReturnTo(t, wb.RedirectBrowserTo, "/dashboard?x=1")), whoamiCookie(bs.Cookie.Value))
	if q := stepUp.Location.Query; stepUp.Location.Host != e.KratosHost() || q.Get("aal") != "aal2" || q.Get("return_to") != "/dashboard?x=1" {
		t.Fatalf("step-up URL %s: want Kratos' own URL with aal=aal2 and return_to", stepUp.Location)
	}
	rs := m.Send(t, browserReq("/dashboard?x=1", cookies))
	rs.Expect(t, "browser", stepUp)
	m.Send(t, tokenReq("/api/me", api.Token)).Expect(t, "session token",
		with(apiError(http.StatusForbidden, "session_aal2_required", reasonAAL2, withReturnTo(t, wt.RedirectBrowserTo, "/api/me")), whoamiToken(api.Token)))
	apps.Protected(core.RequireAAL2()).Send(t, browserReq("/dashboard?x=1", cookies)).Expect(t, "browser, RequireAAL2 route", stepUp)
	apps.Protected(core.Optional()).Send(t, browserReq("/dashboard?x=1", cookies)).
		Expect(t, "browser, Optional route", anonymous(why("ErrAAL2Required", false), whoamiCookie(bs.Cookie.Value)))

	f := intoKratos(t, e, bs.Jar, rs.First().RawLocation)
	wantFlow(t, f, "/dashboard?x=1", false, "aal2", "totp")
	code := must(totp.GenerateCode(secret, time.Now()))(t)
	c := completed(t, e, bs.Jar, f, url.Values{"method": {"totp"}, "totp_code": {code}}, uiURL+"/dashboard?x=1")
	m.Send(t, browserReq("/dashboard?x=1", browserCookies(e, bs.Jar))).
		Expect(t, "back from the aal2 flow", allowed(bs.SessionID, owner.Email, "aal2", whoamiCookie(c.Value)))
}

// requireAAL2: the RequireAAL2 policy. An aal1 session of an identity
// without a second factor (Kratos answers whoami with 200 and aal1) is sent
// to step up; an aal2 session (TOTP, LoginSecondFactor) passes.
func requireAAL2(t *testing.T, e *flows.Env) {
	ctx := t.Context()
	bs, api := register(t, e), registerAPI(t, e)
	if s := session(t, e, bs.Cookie); s.AAL != "aal1" {
		t.Fatalf("Kratos counts the password session as %q, want aal1", s.AAL)
	}
	m := e.Guards(t, nil).Protected(core.RequireAAL2())
	rs := m.Send(t, browserReq("/admin?tab=keys", browserCookies(e, bs.Jar)))
	rs.Expect(t, "aal1 browser session", with(toLogin(e.Ory.Host, "aal", "aal2", "return_to", "/admin?tab=keys"), whoamiCookie(bs.Cookie.Value)))
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "aal1 session token",
		with(apiError(http.StatusForbidden, "session_aal2_required", reasonAAL2, e.OryURL()+loginFlow+"?aal=aal2&return_to=%2Fapi%2Fadmin"), whoamiToken(api.Token)))

	// Kratos accepts the step-up URL and opens an aal2 flow, but for an
	// identity without a second factor the flow offers no method at all:
	// RequireAAL2 sends such a user to a page they cannot get past (they
	// would have to add a second factor in the settings flow first).
	f := intoKratos(t, e, bs.Jar, rs.First().RawLocation)
	wantFlow(t, f, "/admin?tab=keys", false, "aal2")

	owner := register(t, e)
	secret := must(e.Kratos.EnableTOTP(ctx, owner))(t)
	aal1 := must(e.Kratos.LoginBrowser(ctx, owner.Email, password, nil))(t)
	aal2 := must(e.Kratos.LoginSecondFactor(ctx, aal1, secret))(t)
	m.Send(t, browserReq("/admin?tab=keys", browserCookies(e, aal2.Jar))).
		Expect(t, "aal2 session", allowed(aal1.SessionID, owner.Email, "aal2", whoamiCookie(aal2.Cookie.Value)))
}

// maxAuthAgeCase: MaxAuthAge(maxAuthAge). A fresh session passes; once it
// is older, browsers go to the refresh login (refresh=true) and API clients
// get 403 session_refresh_required. The refresh URL, followed into Kratos,
// opens a refresh flow; completing it (and later ReauthenticateBrowser)
// makes the session pass again.
func maxAuthAgeCase(t *testing.T, e *flows.Env) {
	bs, api := register(t, e), registerAPI(t, e)
	m := e.Guards(t, nil).Protected(core.MaxAuthAge(maxAuthAge))
	browser := func() func() *http.Request { return browserReq("/settings", browserCookies(e, bs.Jar)) }
	token := tokenReq("/api/settings", api.Token)

	// passes sends req, which must pass while the session authenticated at
	// auth is certainly younger than maxAuthAge, and returns when it
	// certainly is older (and, with the cache on, certainly out of the
	// cache, so that Kratos is asked again).
	passes := func(phase string, req func() *http.Request, auth time.Time, want flows.Outcome) time.Time {
		t.Helper()
		rs := m.Send(t, req)
		if endedBy(rs, auth.Add(maxAuthAge)) {
			rs.Expect(t, phase, want)
		} else {
			t.Logf("%s: the machine is too slow to check a fresh authentication against MaxAuthAge(%s)", phase, maxAuthAge)
		}
		old := auth.Add(maxAuthAge + time.Millisecond)
		if e.Cached() {
			if gone := lastEnd(rs).Add(e.Run.Cache.TTL); gone.After(old) {
				old = gone
			}
		}
		return old
	}

	sb, st := session(t, e, bs.Cookie), tokenSession(t, e, api.Token)
	oldB := passes("fresh browser session", browser(), sb.AuthenticatedAt, allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))
	oldT := passes("fresh token", token, st.AuthenticatedAt, allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token)))
	e.SleepUntil(t, later(oldB, oldT))

	rs := m.Send(t, browser())
	rs.Expect(t, "old browser session", with(toLogin(e.Ory.Host, "refresh", "true", "return_to", "/settings"), whoamiCookie(bs.Cookie.Value)))
	m.Send(t, token).Expect(t, "old token", with(apiError(http.StatusForbidden, "session_refresh_required", reasonRefresh,
		e.OryURL()+loginFlow+"?refresh=true&return_to=%2Fapi%2Fsettings"), whoamiToken(api.Token)))

	f := intoKratos(t, e, bs.Jar, rs.First().RawLocation)
	wantFlow(t, f, "/settings", true, "aal1", "password")
	c := completed(t, e, bs.Jar, f, passwordFields(bs.Email), uiURL+"/settings")
	s := session(t, e, c)
	if s.ID != bs.SessionID || !s.AuthenticatedAt.After(sb.AuthenticatedAt) {
		t.Fatalf("after the refresh flow: session %s authenticated at %s; want session %s authenticated after %s", s.ID, s.AuthenticatedAt, bs.SessionID, sb.AuthenticatedAt)
	}
	e.SleepUntil(t, passes("after the refresh flow", browser(), s.AuthenticatedAt, allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(c.Value))))
	m.Send(t, browser()).Expect(t, "old again", with(toLogin(e.Ory.Host, "refresh", "true", "return_to", "/settings"), whoamiCookie(c.Value)))

	re := must(e.Kratos.ReauthenticateBrowser(t.Context(), &harness.BrowserSession{Email: bs.Email, Jar: bs.Jar}, password, nil))(t)
	s = session(t, e, re.Cookie)
	passes("after ReauthenticateBrowser", browser(), s.AuthenticatedAt, allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(re.Cookie.Value)))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// refreshHandler: the refresh route sends the browser to Kratos' login
// flow with refresh=true and a checked return_to; Kratos opens a refresh
// flow for the signed-in browser.
func refreshHandler(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	r := e.Guards(t, nil).Refresh()
	cookies := browserCookies(e, bs.Jar)
	for _, c := range []struct{ name, target, returnTo string }{
		{"return_to", "/refresh-session?return_to=%2Fsettings%3Ftab%3D2", "/settings?tab=2"},
		{"foreign return_to", "/refresh-session?return_to=https%3A%2F%2Fevil.example%2F", "/"},
		{"no return_to", "/refresh-session", "/"},
	} {
		rs := r.Send(t, browserReq(c.target, cookies))
		rs.Expect(t, c.name, toLogin(e.Ory.Host, "refresh", "true", "return_to", c.returnTo))
		wantFlow(t, intoKratos(t, e, bs.Jar, rs.First().RawLocation), c.returnTo, true, "aal1", "password")
	}
}

// logoutHandler: the logout route asks Kratos for a logout URL with the
// session cookie alone and redirects there; followed, Kratos ends the
// session and sends the browser to the (allowed) return_to. Each adapter
// logs out a session of its own.
func logoutHandler(t *testing.T, e *flows.Env) {
	owner := register(t, e)
	targets := len(flows.Targets())
	sessions := make([]*harness.BrowserSession, targets)
	for i := range sessions {
		sessions[i] = must(e.Kratos.LoginBrowser(t.Context(), owner.Email, password, nil))(t)
	}
	// mine replaces what differs by design between adapters (each has its
	// session, each gets its own logout token) with placeholders.
	mine := func(rs flows.Results) flows.Results {
		for i := range rs {
			r := &rs[i]
			for j := range r.Ory {
				r.Ory[j].Cookie = strings.ReplaceAll(r.Ory[j].Cookie, sessions[i].Cookie.Value, "<this adapter's session>")
			}
			if r.Location != nil && r.Location.Query.Has("token") {
				tok := r.Location.Query.Get("token")
				if !strings.HasPrefix(tok, "ory_lo_") {
					t.Errorf("%s: logout token %q, want ory_lo_...", r.Target, tok)
				}
				r.Location.Query.Set("token", "<logout token>")
				r.RawLocation = strings.Replace(r.RawLocation, tok, "<logout token>", 1)
			}
		}
		return rs
	}
	req := func(target string, cookie func(i int) string) func(i int) *http.Request {
		return func(i int) *http.Request { return browserReq(target, "theme=dark", cookie(i))() }
	}
	jarCookies := func(i int) string { return browserCookies(e, sessions[i].Jar) }
	oldCookie := func(i int) string { return sessionCookie + "=" + sessions[i].Cookie.Value }

	lo := e.Guards(t, nil).Logout()
	rs := lo.Serve(t, req("/logout?return_to=%2Fbye", jarCookies))
	raw := make([]string, len(rs))
	for i, r := range rs {
		raw[i] = r.RawLocation
	}
	mine(rs).Expect(t, "with a session", flows.Outcome{Outcome: csuite.Outcome{
		Status: http.StatusSeeOther,
		Location: &csuite.Location{Scheme: "http", Host: e.KratosHost(), Path: "/self-service/logout",
			Query: url.Values{"token": {"<logout token>"}, "return_to": {uiURL + "/bye"}}},
		CacheControl: noStore,
		// The logout instance had not cached the session: once Kratos issued
		// the logout URL, whoami tells it the session's ID, by which every
		// spelling of the session is forgotten.
		Ory: []orytest.Recorded{{Path: logoutFlow, Cookie: sessionCookie + "=<this adapter's session>"},
			{Path: whoamiPath, Cookie: sessionCookie + "=<this adapter's session>"}},
	}})
	for i, loc := range raw {
		hop := must(flows.Follow(t.Context(), sessions[i].Jar, loc))(t)
		if hop.Status != http.StatusSeeOther || hop.Location != uiURL+"/bye" {
			t.Errorf("%s: following the logout URL: got %s, want 303 to %s/bye", rs[i].Target, hop, uiURL)
		}
		wantWhoami(t, e, rs[i].Target+"'s logged-out session", cookieHeader(oldCookie(i)), http.StatusUnauthorized)
	}

	mine(e.Guards(t, nil).Protected().Serve(t, req("/dashboard", oldCookie))).Expect(t, "logged-out session on a protected route",
		with(toLogin(e.Ory.Host, "return_to", "/dashboard"), orytest.Recorded{Path: whoamiPath, Cookie: sessionCookie + "=<this adapter's session>"}))
	mine(lo.Serve(t, req("/logout?return_to=%2Fbye", oldCookie))).Expect(t, "logout again with the ended session",
		with(redirectTo("/bye"), orytest.Recorded{Path: logoutFlow, Cookie: sessionCookie + "=<this adapter's session>"}))
	lo.Send(t, browserReq("/logout?return_to=%2Fbye")).Expect(t, "without a session", redirectTo("/bye"))
	lo.Send(t, browserReq("/logout?return_to=https%3A%2F%2Fevil.example%2F")).Expect(t, "without a session, foreign return_to", redirectTo("/"))
}

// returnTo: return_to as the guard builds it, and what Kratos makes of it.
func returnTo(t *testing.T, e *flows.Env) {
	m := e.Guards(t, nil).Protected()
	for _, c := range []struct{ name, target, returnTo string }{
		{"encoded path and query kept exactly", "/a%20b/c%2Fd?x=1&y=%2F&z=%E2%9C%93", "/a%20b/c%2Fd?x=1&y=%2F&z=%E2%9C%93"},
		{"a path that reads as another host becomes /", "//evil.example/phish?x=1", "/"},
	} {
		rs := m.Send(t, browserReq(c.target))
		rs.Expect(t, c.name, toLogin(e.Ory.Host, "return_to", c.returnTo))
		wantFlow(t, intoKratos(t, e, newJar(t), rs.First().RawLocation), c.returnTo, false, "aal1", "password")
	}

	// AppURL on an origin in Kratos' allowed_return_urls: an absolute
	// return_to that Kratos accepts.
	rs := e.Guards(t, func(c *core.Config) { c.AppURL = uiURL }).Protected().Send(t, browserReq("/a%20b/c?x=1"))
	rs.Expect(t, "AppURL allowed by Kratos", toLogin(e.Ory.Host, "return_to", uiURL+"/a%20b/c?x=1"))
	wantFlow(t, intoKratos(t, e, newJar(t), rs.First().RawLocation), uiURL+"/a%20b/c?x=1", false, "aal1", "password")

	// AppURL outside allowed_return_urls: Kratos refuses the login URL and
	// shows its error page. The guard cannot know Kratos' list; the two
	// configurations must agree.
	rs = e.Guards(t, func(c *core.Config) { c.AppURL = "https://app.example.com" }).Protected().Send(t, browserReq("/dashboard"))
	rs.Expect(t, "AppURL not allowed by Kratos", toLogin(e.Ory.Host, "return_to", "https://app.example.com/dashboard"))
	hop := must(flows.Follow(t.Context(), newJar(t), rs.First().RawLocation))(t)
	if hop.Status != http.StatusSeeOther || !strings.HasPrefix(hop.Location, uiURL+"/error?id=") {
		t.Errorf("Kratos with a return_to outside allowed_return_urls: got %s, want 303 to its error page", hop)
	}
}

// optional: the Optional policy against real answers.
func optional(t *testing.T, e *flows.Env) {
	bs, gone := register(t, e), register(t, e)
	check(t, e.Kratos.RevokeSession(t.Context(), gone.SessionID))
	token := "ory_st_" + strings.Repeat("z", 32)
	m := e.Guards(t, nil).Protected(core.Optional())
	m.Send(t, browserReq("/home", browserCookies(e, bs.Jar))).
		Expect(t, "with a session", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))
	m.Send(t, browserReq("/home")).Expect(t, "without a credential", anonymous(why("ErrNoSession", false)))
	m.Send(t, browserReq("/home", browserCookies(e, gone.Jar))).Expect(t, "revoked session", anonymous(why("ErrNoSession", false), whoamiCookie(gone.Cookie.Value)))
	m.Send(t, tokenReq("/home", token)).Expect(t, "unknown token", anonymous(why("ErrNoSession", true), whoamiToken(token)))
}

// extendedSession: after an admin extends a session, Kratos' whoami
// re-issues the session cookie; the guard passes that Set-Cookie on (and
// nothing else) with Cache-Control: private, and the re-issued cookie
// works.
func extendedSession(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	before := session(t, e, bs.Cookie)
	check(t, flows.ExtendSession(t.Context(), e.Kratos.AdminURL(), bs.SessionID))
	if after := session(t, e, bs.Cookie); !after.ExpiresAt.After(before.ExpiresAt) {
		t.Fatalf("extend: expires_at %s, was %s", after.ExpiresAt, before.ExpiresAt)
	}
	m := e.Guards(t, nil).Protected()
	rs := m.Send(t, browserReq("/dashboard", browserCookies(e, bs.Jar, "theme=dark")))
	var renewed string
	for i := range rs {
		r := &rs[i]
		if len(r.SetCookie) != 1 {
			t.Fatalf("%s: Set-Cookie %q, want Kratos' re-issued session cookie alone", r.Target, r.SetCookie)
		}
		c, err := http.ParseSetCookie(r.SetCookie[0])
		if err != nil || c.Name != sessionCookie || c.Value == bs.Cookie.Value || c.Path != "/" || !c.HttpOnly || c.MaxAge <= 0 {
			t.Fatalf("%s: Set-Cookie %q (%v): want a new %s cookie, Path=/, HttpOnly, with Max-Age", r.Target, r.SetCookie[0], err, sessionCookie)
		}
		renewed = c.Value
		r.SetCookie = []string{"<re-issued session cookie>"}
	}
	want := allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value))
	want.SetCookie = []string{"<re-issued session cookie>"}
	want.CacheControl = "private" // never stored by a shared cache
	rs.Expect(t, "old cookie", want)
	m.Send(t, browserReq("/dashboard", sessionCookie+"="+renewed)).
		Expect(t, "re-issued cookie", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(renewed)))
}

// duplicateCookies: a browser can hold two cookies named
// ory_kratos_session (different Domain or Path attributes, or one signed
// with a retired secret) and send both. Kratos uses the first one it can
// decode; the guard sends Kratos every one, in order, so the two always
// agree and no browser loops between the app and the login flow.
func duplicateCookies(t *testing.T, e *flows.Env) {
	bs, other := register(t, e), register(t, e)
	stale := must(e.Kratos.LoginBrowser(t.Context(), bs.Email, password, nil))(t)
	check(t, e.Kratos.RevokeSession(t.Context(), stale.SessionID))
	valid := sessionCookie + "=" + bs.Cookie.Value
	revoked := sessionCookie + "=" + stale.Cookie.Value
	// A cookie Kratos cannot decode, as after a rotation of its cookie
	// secret: a real cookie with its signature changed.
	undecodable := sessionCookie + "=" + tamper(other.Cookie.Value)
	m := e.Guards(t, nil).Protected()
	sent := func(h string) orytest.Recorded { return orytest.Recorded{Path: whoamiPath, Cookie: h} }

	h := valid + "; " + revoked
	if status, id := whoami(t, e, cookieHeader(h)); status != http.StatusOK || id != bs.SessionID {
		t.Fatalf("Kratos with valid, revoked: %d %q", status, id)
	}
	m.Send(t, browserReq("/dashboard", h)).
		Expect(t, "valid, then revoked", allowed(bs.SessionID, bs.Email, "aal1", sent(h)))

	h = revoked + "; " + valid
	wantWhoami(t, e, "revoked, valid", cookieHeader(h), http.StatusUnauthorized)
	rs := m.Send(t, browserReq("/dashboard", h))
	rs.Expect(t, "revoked, then valid", with(toLogin(e.Ory.Host, "return_to", "/dashboard"), sent(h)))
	// Kratos agrees there is no session: it opens a login flow.
	if _, err := flows.FlowID(must(flows.FollowCookies(t.Context(), h, rs.First().RawLocation))(t), uiURL); err != nil {
		t.Errorf("revoked, valid: following the login URL: %v", err)
	}

	// Kratos skips a cookie it cannot decode and uses the next one; so does
	// the guard, since it lets Kratos choose.
	h = undecodable + "; " + valid
	if status, id := whoami(t, e, cookieHeader(h)); status != http.StatusOK || id != bs.SessionID {
		t.Fatalf("Kratos with undecodable, valid: %d %q", status, id)
	}
	wantWhoami(t, e, "the undecodable cookie alone", cookieHeader(undecodable), http.StatusUnauthorized)
	m.Send(t, browserReq("/dashboard", h)).
		Expect(t, "undecodable, then valid", allowed(bs.SessionID, bs.Email, "aal1", sent(h)))
}

// tamper changes a character near the end of a cookie value, in its
// signature.
func tamper(v string) string {
	i := len(v) - 5
	repl := byte('A')
	if v[i] == 'A' {
		repl = 'B'
	}
	return v[:i] + string(repl) + v[i+1:]
}

// verifiedEmail: an app rule, core.Check(csuite.RequireVerifiedEmail),
// against real identities. After registration Kratos holds the email as a
// verifiable address with verified=false: the guard denies the session
// (403 by default, the app's error reachable through the ErrorHandler);
// once the address is marked verified through Kratos' admin API, the same
// sessions pass. (Each phase has guards of its own, so that the cache-on
// run does not answer from what it cached before.)
func verifiedEmail(t *testing.T, e *flows.Env) {
	bs := register(t, e)
	api := must(e.Kratos.LoginAPI(t.Context(), bs.Email, password))(t)
	rule := core.Check(csuite.RequireVerifiedEmail)
	addrs := session(t, e, bs.Cookie).Identity.VerifiableAddresses
	if len(addrs) != 1 || addrs[0].Value != bs.Email || addrs[0].Via != "email" || addrs[0].Verified {
		t.Fatalf("Kratos' verifiable addresses after registration: %+v, want %s unverified", addrs, bs.Email)
	}
	cookies := browserCookies(e, bs.Jar)
	browser, token := browserReq("/verified", cookies), tokenReq("/api/verified", api.Token)

	e.Guards(t, nil).Protected(rule).Send(t, browser).
		Expect(t, "unverified, browser", with(browserError(http.StatusForbidden, reasonCheck), whoamiCookie(bs.Cookie.Value)))
	e.Guards(t, nil).Protected(rule).Send(t, token).
		Expect(t, "unverified, token", with(apiError(http.StatusForbidden, "", reasonCheck, ""), whoamiToken(api.Token)))
	e.Guards(t, nil).ProtectedWithConfig(csuite.ErrorsPage, rule).Send(t, browser).Expect(t, "unverified, custom page",
		custom(csuite.Seen{Reason: "ErrForbidden", Denial: true, Status: http.StatusForbidden, AppError: true}, whoamiCookie(bs.Cookie.Value)))
	e.Guards(t, nil).Protected(core.Optional(), rule).Send(t, browser).Expect(t, "unverified, optional route",
		anonymous(&csuite.Seen{Reason: "ErrForbidden", Denial: true, AppError: true}, whoamiCookie(bs.Cookie.Value)))

	check(t, flows.VerifyAddresses(t.Context(), e.Kratos.AdminURL(), bs.IdentityID, len(addrs)))
	if a := session(t, e, bs.Cookie).Identity.VerifiableAddresses; len(a) != 1 || !a[0].Verified {
		t.Fatalf("Kratos' verifiable addresses after the admin update: %+v, want verified", a)
	}
	e.Guards(t, nil).Protected(rule).Send(t, browser).
		Expect(t, "verified, browser", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))
	e.Guards(t, nil).ProtectedWithConfig(csuite.ErrorsPage, rule).Send(t, token).
		Expect(t, "verified, token, config form", allowed(api.SessionID, bs.Email, "aal1", whoamiToken(api.Token)))
}
