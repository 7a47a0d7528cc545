package flows_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	csuite "github.com/oryguard/oryguard/core/conformance"
	"github.com/oryguard/oryguard/internal/e2e/flows"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// lifespan is session.lifespan of TestSessionExpiry's Kratos.
const lifespan = 3 * time.Second

// TestSessionExpiry runs against a Kratos whose sessions live lifespan. A
// session passes while it lives; once its expires_at has passed Kratos
// answers 401, and the guard sends browsers to login and API clients a
// 401 — with the cache off, and with a cache TTL far longer than the
// session (the guard keeps a session no longer than its expires_at).
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	k := flows.Share(harness.StartKratosT(t, harness.KratosOptions{SessionLifespan: lifespan}))
	runs := []flows.Run{{Name: "cache-off"}, {Name: "cache-on, TTL 1m", Cache: core.CacheConfig{TTL: time.Minute}}}
	flows.Concurrently(t, []string{runs[0].Name, runs[1].Name}, func(t *testing.T, i int) {
		e := flows.NewEnv(t, k, runs[i])
		bs, api := register(t, e), registerAPI(t, e)
		sb, st := session(t, e, bs.Cookie), tokenSession(t, e, api.Token)
		if life := sb.ExpiresAt.Sub(sb.AuthenticatedAt); life < lifespan-time.Second || life > lifespan {
			t.Fatalf("the session lives %s, want %s", life, lifespan)
		}
		m := e.Guards(t, nil).Protected()
		// The app's own login page, rendered by the config form's ErrorHandler.
		page := e.Guards(t, nil).ProtectedWithConfig(csuite.ErrorsPage)
		browser, token := browserReq("/dashboard", browserCookies(e, bs.Jar)), tokenReq("/api/me", api.Token)
		m.Send(t, browser).Expect(t, "browser, session alive", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))
		m.Send(t, token).Expect(t, "token, session alive", allowed(api.SessionID, api.Email, "aal1", whoamiToken(api.Token)))
		page.Send(t, browser).Expect(t, "browser, session alive, config form", allowed(bs.SessionID, bs.Email, "aal1", whoamiCookie(bs.Cookie.Value)))

		e.SleepUntil(t, later(sb.ExpiresAt, st.ExpiresAt).Add(time.Millisecond))
		wantEnded(t, e, bs, api)
		rs := m.Send(t, browser)
		rs.Expect(t, "browser, session expired", with(toLogin(e.Ory.Host, "return_to", "/dashboard"), whoamiCookie(bs.Cookie.Value)))
		m.Send(t, token).Expect(t, "token, session expired",
			with(apiError(http.StatusUnauthorized, "", reasonNoSession, ""), whoamiToken(api.Token)))
		login := toLogin(e.Ory.Host, "return_to", "/dashboard").Location
		page.Send(t, browser).Expect(t, "browser, session expired, custom login page",
			custom(csuite.Seen{Reason: "ErrNoSession", Denial: true, Status: http.StatusSeeOther, Location: login}, whoamiCookie(bs.Cookie.Value)))
		// Kratos no longer counts the browser as signed in either: the login
		// URL opens a flow.
		wantFlow(t, intoKratos(t, e, bs.Jar, rs.First().RawLocation), "/dashboard", false, "aal1", "password")
	})
}

// TestKratosStoppedAndStartedAgain stops Kratos in the middle of a run and
// starts it again, with the same apps and guards throughout: while Kratos
// is down the guard answers 502 without a redirect (browsers and API
// clients alike; an Optional route runs without a session; the cache serves
// what it holds until its TTL, and StaleIfError beyond); once Kratos is back
// the same sessions pass again.
//
// The harness can restart Kratos but not stop it and start it later (its
// Restart does both in one call), so the guards reach Kratos through a
// Switch: a TCP forwarder whose Down ends every connection and refuses new
// ones, as a stopped process does. While it is down Kratos really restarts
// (SQLite file, so sessions survive); guards that talk to Kratos directly
// show that a real restart needs nothing from the app either.
func TestKratosStoppedAndStartedAgain(t *testing.T) {
	t.Parallel()
	k := harness.StartKratosT(t, harness.KratosOptions{Persistent: true})
	sw := must(flows.NewSwitch(strings.TrimPrefix(k.PublicURL(), "http://")))(t)
	t.Cleanup(sw.Close)
	e := flows.NewEnv(t, flows.Share(k), flows.Run{Name: "outage"})
	bs, api := register(t, e), registerAPI(t, e)
	cookies := browserCookies(e, bs.Jar)
	browser, token := browserReq("/dashboard", cookies), tokenReq("/api/me", api.Token)
	okBrowser := allowed(bs.SessionID, bs.Email, "aal1") // no recording proxy here: Ory stays empty
	okToken := allowed(api.SessionID, api.Email, "aal1")
	const ttl = time.Second

	type app struct {
		name                                string
		required, optional, logout, refresh *flows.Mount
	}
	build := func(name, oryURL string, cache core.CacheConfig) app {
		apps := e.Guards(t, func(c *core.Config) {
			c.OryURL = oryURL
			c.HTTPClient = nil // the guard's own client, keep-alive connections and all
			c.Cache = cache
		})
		return app{name, apps.Protected(), apps.Protected(core.Optional()), apps.Logout(), apps.Refresh()}
	}
	off := build("cache off", sw.URL(), core.CacheConfig{})
	on := build("cache on", sw.URL(), core.CacheConfig{TTL: ttl})
	stale := build("cache on, StaleIfError", sw.URL(), core.CacheConfig{TTL: ttl, StaleIfError: time.Minute})
	direct := build("straight to Kratos", k.PublicURL(), core.CacheConfig{})

	passes := func(phase string, a app) flows.Results {
		t.Helper()
		rs := a.required.Send(t, browser)
		rs.Expect(t, phase+", "+a.name+", browser", okBrowser)
		a.required.Send(t, token).Expect(t, phase+", "+a.name+", token", okToken)
		return rs
	}

	// Kratos up.
	first := map[string]flows.Results{}
	for _, a := range []app{on, stale, off, direct} {
		first[a.name] = passes("Kratos up", a)
	}

	// Kratos stops. The cached sessions first, while the TTL runs.
	sw.Down()
	for _, a := range []app{on, stale} {
		rs := a.required.Send(t, browser)
		if within(rs, first[a.name], ttl) {
			rs.Expect(t, "Kratos down, "+a.name+", within the TTL", okBrowser)
		} else {
			t.Logf("%s: the machine is too slow to check the answer within the cache TTL", a.name)
		}
	}
	down := "Kratos down, " + off.name
	off.required.Send(t, browser).Expect(t, down+", browser", browserError(http.StatusBadGateway, reasonUnavailable))
	off.required.Send(t, token).Expect(t, down+", token", apiError(http.StatusBadGateway, "", reasonUnavailable, ""))
	off.required.Send(t, jsonReq("/dashboard", cookies)).Expect(t, down+", JSON client", apiError(http.StatusBadGateway, "", reasonUnavailable, ""))
	off.optional.Send(t, browser).Expect(t, down+", Optional route", anonymous(why("ErrOryUnavailable", false)))
	off.logout.Send(t, browserReq("/logout?return_to=%2Fbye", cookies)).Expect(t, down+", logout", browserError(http.StatusBadGateway, reasonUnavailable))
	// The refresh route needs nothing from Kratos to answer.
	off.refresh.Send(t, browserReq("/refresh-session?return_to=%2Fsettings", cookies)).
		Expect(t, down+", refresh", toLogin(strings.TrimPrefix(sw.URL(), "http://"), "refresh", "true", "return_to", "/settings"))
	e.SleepUntil(t, lastEnd(first[on.name], first[stale.name]).Add(ttl))
	down = "Kratos down, after the TTL, "
	on.required.Send(t, browser).Expect(t, down+on.name+", browser", browserError(http.StatusBadGateway, reasonUnavailable))
	on.required.Send(t, token).Expect(t, down+on.name+", token", apiError(http.StatusBadGateway, "", reasonUnavailable, ""))
	stale.required.Send(t, browser).Expect(t, down+stale.name+", browser", okBrowser)
	stale.required.Send(t, token).Expect(t, down+stale.name+", token", okToken)

	// Kratos starts again: a real restart of the process, on the same
	// ports, with its sessions kept.
	check(t, k.Restart(t.Context()))
	passes("Kratos restarted", direct)
	check(t, sw.Up())
	for _, a := range []app{off, on, stale} {
		passes("Kratos back", a)
	}
	off.optional.Send(t, browser).Expect(t, "Kratos back, Optional route", okBrowser)
}
