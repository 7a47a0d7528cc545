package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// proxied is the BrowserURL of these tests: an in-app Ory proxy on the
// app's origin.
const proxied = "https://app.example/.ory"

// TestBrowserURL: with Config.BrowserURL set, every URL the guard hands a
// browser points there, Ory's own redirect_browser_to and logout_url
// included, while whoami still goes to OryURL.
func TestBrowserURL(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("active", orytest.ActiveSession("s1", "a@example.com"))
	ory.Session("old", oldSession("s2"))
	ory.Reply("stepup", orytest.Reply{Status: 403, Body: orytest.AAL2Required(ory.URL + "/self-service/login/browser?aal=aal2&via=ory#frag")})
	ory.Reply("forbidden", orytest.Reply{Status: 403, Body: []byte(`{"error":{"code":403,"id":"forbidden"},"redirect_browser_to":"` + ory.URL + `/self-service/settings/browser"}`)})

	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.BrowserURL = proxied + "/" // a trailing slash is dropped
		c.AppURL = "https://app.example"
	})
	if g.OryURL() != ory.URL {
		t.Fatalf("OryURL() = %q, want Ory's real URL %q", g.OryURL(), ory.URL)
	}

	for _, tc := range []struct {
		name string
		loc  func() string
		want string // prefix of the URL
		aal  string // the aal query parameter it must carry
	}{
		{name: "LoginURL", loc: func() string { return g.LoginURL("/x") }, want: proxied + "/self-service/login/browser?"},
		{name: "RefreshURL", loc: func() string { return g.RefreshURL("/x") }, want: proxied + "/self-service/login/browser?"},
		{name: "StepUpURL", loc: func() string { return g.StepUpURL("/x") }, want: proxied + "/self-service/login/browser?", aal: "aal2"},
		{name: "no session: login", want: proxied + "/self-service/login/browser?", loc: func() string {
			return g.Route().Authenticate(context.Background(), browser("/p", "")).Header.Get("Location")
		}},
		{name: "MaxAuthAge: refresh", want: proxied + "/self-service/login/browser?", loc: func() string {
			return g.Route(core.MaxAuthAge(time.Hour)).Authenticate(context.Background(), browser("/p", "ory_kratos_session=old")).Header.Get("Location")
		}},
		{name: "RequireAAL2: step-up", want: proxied + "/self-service/login/browser?", aal: "aal2", loc: func() string {
			return g.Route(core.RequireAAL2()).Authenticate(context.Background(), browser("/p", "ory_kratos_session=active")).Header.Get("Location")
		}},
		{name: "Ory's redirect_browser_to for aal2", want: proxied + "/self-service/login/browser?", aal: "aal2", loc: func() string {
			return g.Route().Authenticate(context.Background(), browser("/p", "ory_kratos_session=stepup")).Header.Get("Location")
		}},
		{name: "Ory's redirect_browser_to for aal2, API client", want: proxied + "/self-service/login/browser?", aal: "aal2", loc: func() string {
			return g.Route().Authenticate(context.Background(), apiReq("/p", "ory_kratos_session=stepup")).Denial.Location
		}},
		{name: "Ory's redirect_browser_to when forbidden", want: proxied + "/self-service/settings/browser?", loc: func() string {
			return g.Route().Authenticate(context.Background(), browser("/p", "ory_kratos_session=forbidden")).Header.Get("Location")
		}},
		{name: "logout_url", want: proxied + "/self-service/logout?", loc: func() string {
			r := browser("/logout", "ory_kratos_session=active")
			r.Method, r.SecFetchSite = http.MethodPost, "same-origin"
			u, err := g.LogoutURL(context.Background(), r, "/")
			if err != nil {
				t.Fatalf("LogoutURL: %v", err)
			}
			return u
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := tc.loc()
			if !strings.HasPrefix(loc, tc.want) {
				t.Fatalf("URL %q, want one starting %q", loc, tc.want)
			}
			if got := mustParse(t, loc).Query().Get("aal"); got != tc.aal {
				t.Fatalf("URL %q has aal=%q, want %q", loc, got, tc.aal)
			}
		})
	}
	for _, r := range ory.Requests() {
		if r.Path != "/sessions/whoami" && r.Path != "/self-service/logout/browser" {
			t.Errorf("Ory was asked for %s", r.Path)
		}
	}
	if ory.Calls() == 0 {
		t.Fatal("whoami never reached OryURL")
	}
}

// TestBrowserURLLeavesOtherOrigins: a URL Ory returns on any origin but
// its own (a configured custom domain, or one that only looks like Ory's)
// is not moved onto BrowserURL.
func TestBrowserURLLeavesOtherOrigins(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	oryHost := mustParse(t, ory.URL).Host
	for _, tc := range []struct {
		name, redirect, want string
	}{
		{"a configured custom domain stays", "https://auth.example.com/self-service/login/browser?aal=aal2", "https://auth.example.com/self-service/login/browser?"},
		{"user info that names Ory: not followed, the flow URL on BrowserURL", "http://" + oryHost + "@evil.example/x?aal=aal2", proxied + "/self-service/login/browser?"},
		{"Ory's host over https: not Ory's origin", "https://" + oryHost + "/self-service/login/browser?aal=aal2", proxied + "/self-service/login/browser?"},
		{"Ory's origin, upper case", strings.ToUpper(ory.URL[:7]) + oryHost + "/self-service/login/browser?aal=aal2", proxied + "/self-service/login/browser?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred := strings.NewReplacer(" ", "_", ",", "_", ":", "_").Replace(tc.name)
			ory.Reply(cred, orytest.Reply{Status: 403, Body: orytest.AAL2Required(tc.redirect)})
			g, _ := newGuard(t, ory.URL, func(c *core.Config) {
				c.BrowserURL = proxied
				c.AllowedRedirectOrigins = []string{"https://auth.example.com"}
			})
			loc := g.Route().Authenticate(context.Background(), browser("/admin", "ory_kratos_session="+cred)).Header.Get("Location")
			if !strings.HasPrefix(loc, tc.want) || strings.Contains(loc, "evil.example") {
				t.Fatalf("Location %q, want one starting %q", loc, tc.want)
			}
		})
	}
}

// TestBrowserURLUnset: without BrowserURL, browsers go to OryURL as before.
func TestBrowserURLUnset(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, _ := newGuard(t, ory.URL, nil)
	if loc := g.LoginURL("/x"); !strings.HasPrefix(loc, ory.URL+"/self-service/login/browser?") {
		t.Fatalf("LoginURL = %q, want one on OryURL", loc)
	}
}

func TestBrowserURLInvalid(t *testing.T) {
	for _, bad := range []string{"app.example/.ory", "ftp://app.example", "https://u:p@app.example/.ory", "/.ory", "https://"} {
		_, err := core.New(core.Config{OryURL: "https://ory.example", BrowserURL: bad})
		if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "BrowserURL") {
			t.Errorf("BrowserURL %q: %v, want a configuration error naming BrowserURL", bad, err)
		}
	}
}
