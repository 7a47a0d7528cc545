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

// errorsConfig returns the sentinel every configuration error wraps.
func errorsConfig(t *testing.T) error {
	t.Helper()
	_, err := core.New(core.Config{OryURL: "not a url"})
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return err
}

// TestRedirectBrowserToOnlyToKnownOrigins: Ory's redirect_browser_to is
// followed only on OryURL's origin or a configured one; otherwise the guard
// builds the flow URL itself, rather than follow any absolute http(s) URL.
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
