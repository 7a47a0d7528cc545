package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// page is a browser's page load coming back from another site (Ory's
// login) with cookies.
func returning(cookies ...string) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/dash", Accept: browserAccept, Cookies: cookies,
		SecFetchMode: "navigate", SecFetchDest: "document", SecFetchSite: "cross-site", Host: "app.example.com"}
}

// marker returns the name=value of the login-loop marker a decision sets,
// failing unless it is host-only, HttpOnly, Path=/, and __Host- and
// Secure on https.
func marker(t *testing.T, d core.Decision, https bool) string {
	t.Helper()
	sc := d.Header.Values("Set-Cookie")
	if len(sc) != 1 {
		t.Fatalf("Set-Cookie %q, want the marker alone", sc)
	}
	c, err := http.ParseSetCookie(sc[0])
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", sc[0], err)
	}
	wantName := "oryguard_login_loop"
	if https {
		wantName = "__Host-" + wantName
	}
	if c.Name != wantName || c.Domain != "" || c.Path != "/" || !c.HttpOnly || c.Secure != https || c.Value == "" || c.MaxAge <= 0 {
		t.Fatalf("marker %q: want %s, host-only, Path=/, HttpOnly, Secure=%v, a value and a Max-Age", sc[0], wantName, https)
	}
	return c.Name + "=" + c.Value
}

// cleared reports whether a decision clears the marker.
func cleared(d core.Decision) bool {
	for _, sc := range d.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(sc); err == nil && strings.HasSuffix(c.Name, "oryguard_login_loop") && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestLoginLoop: a browser that comes back from Ory's login twice without
// a session cookie gets the explanatory page, whose link goes to the same
// login URL and which clears the marker; API clients never see the page
// or a cookie.
func TestLoginLoop(t *testing.T) {
	for _, https := range []bool{true, false} {
		name := map[bool]string{true: "https", false: "http"}[https]
		t.Run(name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			g, logs := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = name + "://app.example.com" })
			rt := g.Route()
			first := rt.Authenticate(context.Background(), returning())
			if first.Status != http.StatusSeeOther {
				t.Fatalf("first return: %d, want 303", first.Status)
			}
			m := marker(t, first, https)
			page := rt.Authenticate(context.Background(), returning("a=1", m))
			if page.Status != http.StatusUnauthorized || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("second return: %d %q, want the 401 page", page.Status, page.Header.Get("Content-Type"))
			}
			den := page.Denial
			if den == nil || !den.LoginLoop || !errors.Is(den, core.ErrNoSession) || den.Location != first.Header.Get("Location") {
				t.Fatalf("denial %+v, want LoginLoop, ErrNoSession and the login URL", den)
			}
			body := string(page.Body)
			for _, want := range []string{`href="` + strings.ReplaceAll(first.Header.Get("Location"), "&", "&amp;") + `"`, "oryproxy", "ory tunnel", "custom domain", "app.example.com"} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if !cleared(page) {
				t.Errorf("the page does not clear the marker: %q", page.Header.Values("Set-Cookie"))
			}
			if a := core.Answer(den); a.Status != page.Status || string(a.Body) != body {
				t.Errorf("Answer(denial) differs from the decision")
			}
			if !strings.Contains(logs.String(), "login loop") {
				t.Errorf("no log line for the loop: %s", logs.String())
			}

			// API clients with the same marker: the usual 401 JSON, no cookie.
			for _, r := range []*core.Request{
				{Method: http.MethodGet, URI: "/dash", Accept: "*/*", SecFetchMode: "cors", SecFetchDest: "empty", SecFetchSite: "cross-site", Cookies: []string{m}},
				{Method: http.MethodGet, URI: "/dash", Accept: "application/json", Cookies: []string{m}},
				{Method: http.MethodGet, URI: "/dash", SessionToken: "nope", Cookies: []string{m}},
			} {
				d := rt.Authenticate(context.Background(), r)
				if d.Status != http.StatusUnauthorized || d.Denial.LoginLoop || len(d.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("API request %+v: %d, LoginLoop %v, Set-Cookie %q", r, d.Status, d.Denial.LoginLoop, d.Header.Values("Set-Cookie"))
				}
			}
		})
	}
}

// TestLoginLoopMarkerOnlyOnReturns: the marker is set only on a page load
// that came from another site with no credential and is about to be sent
// to login; everything else sets no cookie.
func TestLoginLoopMarkerOnlyOnReturns(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = "https://app.example.com" })
	off, _ := newGuard(t, ory.URL, func(c *core.Config) { c.LoginLoop.Disabled = true })
	with := func(f func(r *core.Request)) *core.Request { r := returning(); f(r); return r }
	tests := []struct {
		name  string
		g     *core.Guard
		opts  []core.Option
		req   *core.Request
		want  int
		isSet bool
	}{
		{"return from another site", g, nil, returning(), 303, true},
		{"return from a sibling subdomain", g, nil, with(func(r *core.Request) { r.SecFetchSite = "same-site" }), 303, true},
		{"same-origin navigation", g, nil, with(func(r *core.Request) { r.SecFetchSite = "same-origin" }), 303, false},
		{"typed URL", g, nil, with(func(r *core.Request) { r.SecFetchSite = "none" }), 303, false},
		{"no fetch metadata", g, nil, browser("/dash", ""), 303, false},
		{"iframe", g, nil, with(func(r *core.Request) { r.SecFetchDest = "iframe" }), 401, false},
		{"fetch", g, nil, with(func(r *core.Request) { r.SecFetchMode = "cors" }), 401, false},
		{"POST", g, nil, with(func(r *core.Request) { r.Method = http.MethodPost }), 303, false},
		{"unknown cookie", g, nil, returning("ory_kratos_session=nope"), 303, false},
		{"malformed token", g, nil, with(func(r *core.Request) { r.SessionToken = "\x01" }), 401, false},
		{"optional route", g, []core.Option{core.Optional()}, returning(), 0, false},
		{"ForceAPI", g, []core.Option{core.ForceAPI()}, returning(), 401, false},
		{"check disabled", off, nil, returning(), 303, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.g.Route(tc.opts...).Authenticate(context.Background(), tc.req)
			if d.Status != tc.want {
				t.Fatalf("status %d, want %d", d.Status, tc.want)
			}
			if tc.isSet {
				marker(t, d, true)
			} else if sc := d.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("Set-Cookie %q, want none", sc)
			}
		})
	}
}

// TestLoginLoopMarkerCannotLockOut: a marker this guard did not sign
// (planted, forged, another guard's) counts for nothing, and a session
// seen on a page load clears a real one.
func TestLoginLoopMarkerCannotLockOut(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = "https://app.example.com" })
	other, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = "https://app.example.com" })
	theirs := marker(t, other.Route().Authenticate(context.Background(), returning()), true)
	ours := marker(t, g.Route().Authenticate(context.Background(), returning()), true)
	name, value, _ := strings.Cut(ours, "=")
	ts, _, _ := strings.Cut(value, ".")
	for _, planted := range []string{
		theirs,
		name + "=" + ts + ".AAAAAAAAAAAAAAAAAAAAAA",
		name + "=garbage",
		"oryguard_login_loop=" + value, // the unprefixed name on https
	} {
		d := g.Route().Authenticate(context.Background(), returning(planted))
		if d.Status != http.StatusSeeOther || d.Denial.LoginLoop {
			t.Errorf("marker %q: %d, want the login redirect", planted, d.Status)
		}
	}
	// A planted marker beside ours does not hide ours.
	if d := g.Route().Authenticate(context.Background(), returning(name+"=garbage", ours)); !d.Denial.LoginLoop {
		t.Errorf("a garbage marker hid the real one")
	}
	// A session on a page load clears the marker; a fetch with one does not
	// get a cookie.
	d := g.Route().Authenticate(context.Background(), returning("ory_kratos_session=good", ours))
	if !d.Allow || !cleared(d) {
		t.Fatalf("allowed %v, Set-Cookie %q: want the marker cleared", d.Allow, d.Header.Values("Set-Cookie"))
	}
	fetch := returning("ory_kratos_session=good", ours)
	fetch.SecFetchMode, fetch.SecFetchDest = "cors", "empty"
	if d := g.Route().Authenticate(context.Background(), fetch); !d.Allow || len(d.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("fetch with a session: allowed %v, Set-Cookie %q", d.Allow, d.Header.Values("Set-Cookie"))
	}
	// Without the marker, an allowed request gets no cookie.
	if d := g.Route().Authenticate(context.Background(), returning("ory_kratos_session=good")); len(d.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("Set-Cookie %q without a marker", d.Header.Values("Set-Cookie"))
	}
}

// TestCrossSiteWarning: New warns once when OryURL and AppURL are on
// different sites and nothing puts Ory on the app's site.
func TestCrossSiteWarning(t *testing.T) {
	tests := []struct {
		name    string
		ory     string
		app     string
		origins []string
		warn    bool
		browser string
	}{
		{"Ory Network project URL", "https://slug.projects.oryapis.com", "https://app.example.com", nil, true, ""},
		{"another registrable domain", "https://auth.example.net", "https://app.example.com", nil, true, ""},
		{"localhost and 127.0.0.1", "http://localhost:4433", "http://127.0.0.1:3000", nil, true, ""},
		{"same site", "https://auth.example.com", "https://app.example.com", nil, false, ""},
		{"same site under a public suffix", "https://auth.example.co.uk", "https://www.example.co.uk", nil, false, ""},
		{"tunnel on localhost", "http://localhost:4000", "http://localhost:3000", nil, false, ""},
		{"custom domain on the app's site", "https://slug.projects.oryapis.com", "https://app.example.com", []string{"https://auth.example.com"}, false, ""},
		{"no AppURL", "https://slug.projects.oryapis.com", "", nil, false, ""},
		{"loopback test server", "http://127.0.0.1:4433", "https://app.example.com", nil, false, ""},
		{"in-app proxy", "https://slug.projects.oryapis.com", "https://app.example.com", nil, false, "https://app.example.com/.ory"},
		{"BrowserURL on another site", "https://slug.projects.oryapis.com", "https://app.example.com", nil, true, "https://slug.projects.oryapis.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, logs := newGuard(t, tc.ory, func(c *core.Config) {
				c.AppURL, c.AllowedRedirectOrigins, c.BrowserURL = tc.app, tc.origins, tc.browser
			})
			if n := strings.Count(logs.String(), "different sites"); n != map[bool]int{true: 1, false: 0}[tc.warn] {
				t.Fatalf("%d warnings, want warn=%v: %s", n, tc.warn, logs.String())
			}
		})
	}
}

func TestLoginLoopKey(t *testing.T) {
	if _, err := core.New(core.Config{OryURL: "http://127.0.0.1:1", LoginLoop: core.LoginLoopConfig{Key: []byte("short")}}); !errors.Is(err, core.ErrInvalidConfig) {
		t.Fatalf("short key: %v, want ErrInvalidConfig", err)
	}
	// Two guards with the same key read each other's markers (a fleet).
	ory := orytest.NewServer()
	defer ory.Close()
	key := []byte(strings.Repeat("k", 32))
	a, _ := newGuard(t, ory.URL, func(c *core.Config) { c.LoginLoop.Key = key })
	b, _ := newGuard(t, ory.URL, func(c *core.Config) { c.LoginLoop.Key = key })
	m := marker(t, a.Route().Authenticate(context.Background(), returning()), false)
	if d := b.Route().Authenticate(context.Background(), returning(m)); !d.Denial.LoginLoop {
		t.Fatalf("%d: a marker from a guard with the same key was not read", d.Status)
	}
}
