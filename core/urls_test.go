package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func returnToOf(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u.Query().Get("return_to")
}

// sameOrigin reports whether a return_to value can only lead to the app:
// a single-slash relative path, or an absolute URL on app.
func sameOrigin(rt, app string) bool {
	if app != "" {
		return strings.HasPrefix(rt, app+"/")
	}
	if !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") || strings.HasPrefix(rt, "/\\") {
		return false
	}
	u, err := url.Parse(rt)
	return err == nil && u.Host == "" && u.Scheme == "" && !strings.ContainsAny(rt, "\r\n\\")
}

func TestReturnTo(t *testing.T) {
	for _, tc := range []struct {
		uri, app, want string
	}{
		{"/dashboard", "", "/dashboard"},
		{"/a%20b/c?x=1&y=%2F", "", "/a%20b/c?x=1&y=%2F"},
		{"/dashboard?x=1", "https://app.example", "https://app.example/dashboard?x=1"},
		{"/dashboard", "https://app.example/base/", "https://app.example/base/dashboard"},
		{"//evil.example", "", "/"},
		{"//evil.example/x", "https://app.example", "https://app.example/"},
		{"/\\evil.example", "", "/"},
		{"/%2F%2Fevil.example", "", "/"},
		{"/%5Cevil.example", "", "/"},
		{"/%2Fevil.example", "", "/"},
		{"http://evil.example/path?q=1", "", "/path?q=1"},
		{"https://user@evil.example/", "", "/"},
		{"/x\r\nLocation: http://evil.example", "", "/"},
		{"/x\nSet-Cookie: a=b", "", "/"},
		{"*", "", "/"},
		{"", "", "/"},
		{"/@evil.example", "", "/@evil.example"},
		{"/ok?next=//evil.example", "", "/ok?next=//evil.example"},
	} {
		cfg := func(c *core.Config) { c.AppURL = tc.app }
		g, _ := newGuard(t, "https://ory.example", cfg)
		got := g.ReturnTo(&core.Request{URI: tc.uri})
		if got != tc.want {
			t.Errorf("ReturnTo(%q, app %q) = %q, want %q", tc.uri, tc.app, got, tc.want)
		}
		if !sameOrigin(got, strings.TrimSuffix(tc.app, "/")) {
			t.Errorf("ReturnTo(%q) = %q leaves the app", tc.uri, got)
		}
		// And the login redirect carries exactly that value.
		d := g.Route().Authenticate(context.Background(), browser(tc.uri, ""))
		if rt := returnToOf(t, d.Header.Get("Location")); rt != got {
			t.Errorf("redirect for %q carries return_to %q, want %q", tc.uri, rt, got)
		}
	}
}

func TestReturnToIgnoresHostHeaders(t *testing.T) {
	g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = "https://app.example" })
	r, _ := http.NewRequest(http.MethodGet, "http://evil.example/dash", nil)
	r.RequestURI = "/dash"
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	req := core.RequestFromHTTP(r)
	if got := g.ReturnTo(&req); got != "https://app.example/dash" {
		t.Fatalf("ReturnTo = %q", got)
	}
}

func TestSafeReturnTo(t *testing.T) {
	for _, tc := range []struct{ raw, app, want string }{
		{"", "", "/"},
		{"/settings?tab=2", "", "/settings?tab=2"},
		{"settings", "", "/"},
		{"//evil.example", "", "/"},
		{"https://evil.example/x", "", "/"},
		{"https://evil.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example/x?y=1", "https://app.example", "https://app.example/x?y=1"},
		{"HTTPS://APP.example/x", "https://app.example", "https://app.example/x"},
		{"http://app.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example.evil.example/x", "https://app.example", "https://app.example/"},
		{"https://app.example@evil.example/x", "https://app.example", "https://app.example/"},
		{"/x\r\nSet-Cookie: a=b", "", "/"},
		{"/\\evil.example", "", "/"},
		{"javascript:alert(1)", "", "/"},
		{"/next", "https://app.example/base", "https://app.example/base/next"},
	} {
		g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = tc.app })
		if got := g.SafeReturnTo(tc.raw); got != tc.want {
			t.Errorf("SafeReturnTo(%q, app %q) = %q, want %q", tc.raw, tc.app, got, tc.want)
		}
	}
}

func TestURLHelpers(t *testing.T) {
	g, _ := newGuard(t, "https://ory.example", func(c *core.Config) { c.AppURL = "https://app.example" })
	for _, tc := range []struct {
		got  string
		want url.Values
	}{
		{g.LoginURL("/a?b=c"), url.Values{"return_to": {"https://app.example/a?b=c"}}},
		{g.RefreshURL("/a"), url.Values{"return_to": {"https://app.example/a"}, "refresh": {"true"}}},
		{g.StepUpURL("//evil"), url.Values{"return_to": {"https://app.example/"}, "aal": {"aal2"}}},
	} {
		u, err := url.Parse(tc.got)
		if err != nil || u.Scheme+"://"+u.Host+u.Path != "https://ory.example/self-service/login/browser" {
			t.Fatalf("URL %q", tc.got)
		}
		if u.Query().Encode() != tc.want.Encode() {
			t.Errorf("%q: query %v, want %v", tc.got, u.Query(), tc.want)
		}
	}
}

func TestRefreshAndLogoutDecisions(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)

	d := g.RefreshRedirect(&core.Request{URI: "/refresh-session?return_to=%2Fdashboard"})
	if d.Status != 303 || returnToOf(t, d.Header.Get("Location")) != "/dashboard" ||
		!strings.Contains(d.Header.Get("Location"), "refresh=true") {
		t.Fatalf("refresh: %d %v", d.Status, d.Header)
	}
	d = g.RefreshRedirect(&core.Request{URI: "/refresh-session?return_to=https://evil.example"})
	if returnToOf(t, d.Header.Get("Location")) != "/" {
		t.Fatalf("refresh kept a foreign return_to: %v", d.Header)
	}

	ory.Reset()
	d = g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", Cookies: []string{"theme=dark; ory_kratos_session=good"}})
	if d.Status != 303 || !strings.HasPrefix(d.Header.Get("Location"), ory.URL+"/self-service/logout?token=") {
		t.Fatalf("logout: %d %v", d.Status, d.Header)
	}
	if rec := ory.Requests(); len(rec) != 1 || rec[0].Cookie != "ory_kratos_session=good" {
		t.Fatalf("logout sent %+v", rec)
	}
	d = g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout?return_to=/bye"})
	if d.Status != 303 || d.Header.Get("Location") != "/bye" {
		t.Fatalf("logout without session: %d %v", d.Status, d.Header)
	}
	_, err := g.LogoutURL(context.Background(), &core.Request{Cookies: []string{"ory_kratos_session=unknown"}}, "")
	if !errors.Is(err, core.ErrNoSession) {
		t.Fatalf("unknown session: %v", err)
	}
	ory.ReplyAll(&orytest.Reply{Status: 500})
	d = g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", Cookies: []string{"ory_kratos_session=good"}})
	if d.Status != 502 || d.Header.Get("Location") != "" {
		t.Fatalf("logout with Ory down: %d %v", d.Status, d.Header)
	}
}

func TestSetCookiePassedOn(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	body := mustJSON(orytest.ActiveSession("s1", "a@example.com"))
	ory.Reply("good", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {
		"ory_kratos_session=renewed; Path=/; HttpOnly", "tracking=1; Path=/",
	}}})
	g, _ := newGuard(t, ory.URL, nil)
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=good"))
	if !d.Allow {
		t.Fatalf("denied %d", d.Status)
	}
	if got := d.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "ory_kratos_session=renewed; Path=/; HttpOnly" {
		t.Fatalf("Set-Cookie = %q", got)
	}
}

func TestNativeLogout(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	d := g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", Authorization: "Bearer tok"})
	if d.Status != http.StatusNoContent || d.Header.Get("Location") != "" {
		t.Fatalf("native logout: %d %v", d.Status, d.Header)
	}
	if rec := ory.Requests(); len(rec) != 1 || rec[0].Path != "/self-service/logout/api" || rec[0].SessionToken != "tok" {
		t.Fatalf("Ory received %+v", rec)
	}
	if d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", SessionToken: "tok"}); d.Allow {
		t.Fatal("token still works after logout")
	}
	// Logging out again (unknown token) is still 204.
	if d := g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", SessionToken: "tok"}); d.Status != http.StatusNoContent {
		t.Fatalf("second logout: %d", d.Status)
	}
	ory.ReplyAll(&orytest.Reply{Status: 500})
	if d := g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", SessionToken: "x"}); d.Status != http.StatusBadGateway {
		t.Fatalf("logout with Ory down: %d", d.Status)
	}
}
