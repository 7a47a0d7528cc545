package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestSetCookieIsPrivate: a response that passes on a Set-Cookie from Ory
// (a refreshed session cookie) carries Cache-Control: private, so no
// shared cache stores it. Before security round 2 it carried none.
func TestSetCookieIsPrivate(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("ext", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")),
		Header: http.Header{"Set-Cookie": {"ory_kratos_session=new; Path=/; HttpOnly"}}})
	ory.Session("plain", orytest.ActiveSession("s2", "b@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=ext"))
	if !d.Allow || len(d.Header.Values("Set-Cookie")) != 1 || d.Header.Get("Cache-Control") != "private" {
		t.Fatalf("with Set-Cookie: allow=%v header %v, want Cache-Control: private", d.Allow, d.Header)
	}
	d = g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=plain"))
	if !d.Allow || d.Header.Get("Cache-Control") != "" {
		t.Fatalf("without Set-Cookie: header %v, want no Cache-Control (the handler decides)", d.Header)
	}
}

// TestRedirectBrowserToOnlyToKnownOrigins: Ory's redirect_browser_to is
// followed only on OryURL's origin or a configured one; otherwise the guard
// builds the flow URL itself. Before security round 2 any absolute http(s)
// URL was followed.
func TestRedirectBrowserToOnlyToKnownOrigins(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	oryHost := mustParse(t, ory.URL).Host
	for _, tc := range []struct {
		name     string
		allowed  []string
		redirect string
		aal2     bool
		wantHost string // of the Location; "" for none
	}{
		{"aal2 on OryURL's origin", nil, ory.URL + "/self-service/login/browser?aal=aal2", true, oryHost},
		{"aal2 on a configured custom domain", []string{"https://auth.example.com"}, "https://auth.example.com/self-service/login/browser?aal=aal2", true, "auth.example.com"},
		{"aal2 on a configured origin, default port spelled out", []string{"https://auth.example.com:443"}, "https://AUTH.example.com/self-service/login/browser?aal=aal2", true, "AUTH.example.com"},
		{"aal2 elsewhere: the flow URL instead", nil, "https://evil.example/phish?aal=aal2", true, oryHost},
		{"aal2 on the configured host over http: the flow URL", []string{"https://auth.example.com"}, "http://auth.example.com/x", true, oryHost},
		{"forbidden on OryURL's origin", nil, ory.URL + "/self-service/settings/browser", false, oryHost},
		{"forbidden elsewhere: no redirect", nil, "https://evil.example/phish", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred := url.QueryEscape(tc.name) // a cookie value: no spaces
			body := orytest.AAL2Required(tc.redirect)
			if !tc.aal2 {
				body = []byte(`{"error":{"code":403,"id":"forbidden"},"redirect_browser_to":"` + tc.redirect + `"}`)
			}
			ory.Reply(cred, orytest.Reply{Status: 403, Body: body})
			g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AllowedRedirectOrigins = tc.allowed })
			d := g.Route().Authenticate(context.Background(), browser("/admin", "ory_kratos_session="+cred))
			loc := d.Header.Get("Location")
			if tc.wantHost == "" {
				if d.Status != http.StatusForbidden || loc != "" {
					t.Fatalf("got %d Location %q, want 403 without a redirect", d.Status, loc)
				}
				return
			}
			u := mustParse(t, loc)
			if d.Status != http.StatusSeeOther || u.Host != tc.wantHost || u.Query().Get("return_to") != "/admin" {
				t.Fatalf("got %d Location %q, want a redirect to %s with return_to", d.Status, loc, tc.wantHost)
			}
			if tc.aal2 && u.Query().Get("aal") != "aal2" {
				t.Fatalf("Location %q lacks aal=aal2", loc)
			}
		})
	}
	for _, bad := range []string{"auth.example.com", "https://auth.example.com/path", "ftp://auth.example.com", "https://u@auth.example.com", "https://auth.example.com?x=1"} {
		_, err := core.New(core.Config{OryURL: ory.URL, AllowedRedirectOrigins: []string{bad}})
		if err == nil || !errors.Is(err, errorsConfig(t)) {
			t.Errorf("AllowedRedirectOrigins %q: %v, want a configuration error", bad, err)
		}
	}
}

// errorsConfig returns the sentinel every configuration error wraps.
func errorsConfig(t *testing.T) error {
	t.Helper()
	_, err := core.New(core.Config{OryURL: "not a url"})
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return err
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestReturnToStaysInAppPrefix: with an AppURL path prefix, return_to
// never resolves outside it. Before security round 2 "/../other" became
// https://example.com/app/../other, which browsers and Kratos resolve to
// https://example.com/other, and SafeReturnTo kept absolute same-origin
// URLs outside the prefix.
func TestReturnToStaysInAppPrefix(t *testing.T) {
	g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = "https://example.com/app" })
	const root = "https://example.com/app/"
	for _, tc := range []struct{ target, want string }{
		{"/../other", root},
		{"/%2e%2e/other", root},
		{"/%2E%2E/other", root},
		{"/a/.%2e/../b", root},
		{"/./x", root},
		{"/a/b?x=../y", "https://example.com/app/a/b?x=../y"},
		{"/a..b/c", "https://example.com/app/a..b/c"},
		{"/settings", "https://example.com/app/settings"},
	} {
		if got := g.ReturnTo(&core.Request{URI: tc.target}); got != tc.want {
			t.Errorf("ReturnTo(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
	for _, tc := range []struct{ raw, want string }{
		{"https://example.com/other", root},
		{"https://example.com/application", root},
		{"https://example.com/", root},
		{"https://example.com/app/../other", root},
		{"https://example.com/app/%2e%2e/other", root},
		{"/../other", root},
		{"https://example.com/app", "https://example.com/app"},
		{"https://example.com/app/settings?tab=2", "https://example.com/app/settings?tab=2"},
	} {
		if got := g.SafeReturnTo(tc.raw); got != tc.want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}
