package core_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func cachedGuard(t *testing.T, ory string, mutate func(*core.Config)) (*core.Guard, *logBuffer) {
	t.Helper()
	return newGuard(t, ory, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: time.Hour}
		c.Timeout = 5 * time.Second
		if mutate != nil {
			mutate(c)
		}
	})
}

// TestLogoutEvictsCache: logging out through the guard removes the
// credential from the cache at once: a token logged out with 204 must not
// keep working from the cache for the rest of the TTL.
func TestLogoutEvictsCache(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    *core.Request
		status int // of the logout
		end    func(ory *orytest.Server)
	}{
		{
			name: "native logout with X-Session-Token", status: http.StatusNoContent,
			req: &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: "tok"},
			end: func(*orytest.Server) {}, // the fake ends the token itself
		},
		{
			name: "native logout with Bearer", status: http.StatusNoContent,
			req: &core.Request{Method: http.MethodPost, URI: "/logout", Authorization: "Bearer tok"},
			end: func(*orytest.Server) {},
		},
		{
			name: "browser logout", status: http.StatusSeeOther,
			req: &core.Request{Method: http.MethodPost, URI: "/logout", Accept: browserAccept,
				Cookies: []string{"ory_kratos_session=tok"}, SecFetchSite: "same-origin"},
			// The browser follows the logout URL: Kratos ends the session.
			end: func(ory *orytest.Server) { ory.Reply("tok", orytest.Reply{Status: 401, Body: orytest.Unauthorized()}) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
			g, _ := cachedGuard(t, ory.URL, nil)
			protected := *tc.req
			protected.Method, protected.URI = http.MethodGet, "/api/me"
			if d := g.Route().Authenticate(context.Background(), &protected); !d.Allow {
				t.Fatalf("before logout: %d", d.Status)
			}
			if d := g.LogoutRedirect(context.Background(), tc.req); d.Status != tc.status {
				t.Fatalf("logout: %d %s", d.Status, d.Body)
			}
			tc.end(ory)
			before := ory.Calls()
			if d := g.Route().Authenticate(context.Background(), &protected); d.Allow {
				t.Fatal("the logged-out credential still passes (served from the cache)")
			}
			if ory.Calls() != before+1 {
				t.Fatalf("Ory was not asked after the logout")
			}
		})
	}
}

// TestLogoutDiscardsLookupInFlight: a whoami call that was in flight when
// the token was logged out answers the requests already waiting for it,
// but its answer is not cached: the next request asks Ory again.
func TestLogoutDiscardsLookupInFlight(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("tok", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")), Delay: 300 * time.Millisecond})
	g, _ := cachedGuard(t, ory.URL, nil)
	req := &core.Request{URI: "/api/me", SessionToken: "tok"}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = g.Route().Authenticate(context.Background(), req) // asked before the logout
	}()
	for ory.Calls() == 0 { // the whoami call is in flight
		time.Sleep(time.Millisecond)
	}
	if d := g.LogoutRedirect(context.Background(), &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: "tok"}); d.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", d.Status)
	}
	wg.Wait()
	if d := g.Route().Authenticate(context.Background(), req); d.Allow {
		t.Fatal("the lookup in flight at logout put the old session back into the cache")
	}
	if c := ory.Calls(); c != 2 {
		t.Fatalf("%d whoami calls, want 2 (in flight at logout, then a fresh one)", c)
	}
}

// TestLogoutRefusesCrossSite: Ory's logout URL is handed only to requests
// from the app's own pages; a cross-site one gets 403 and Ory is not
// asked (nothing is logged out, nothing leaves the cache).
func TestLogoutRefusesCrossSite(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("c1", orytest.ActiveSession("s1", "a@example.com"))
	const app = "https://app.example.com"
	for _, tc := range []struct {
		name               string
		appURL             string
		method             string
		site, origin, host string
		logout             bool // handed the logout URL
	}{
		{"cross-site GET link", app, "GET", "cross-site", "", "app.example.com", false},
		{"cross-site POST form", app, "POST", "cross-site", "https://evil.example", "app.example.com", false},
		{"sibling subdomain (same-site)", app, "GET", "same-site", "", "app.example.com", false},
		{"foreign Origin without Sec-Fetch-Site", app, "POST", "", "https://evil.example", "app.example.com", false},
		{"Origin null", app, "POST", "", "null", "app.example.com", false},
		{"Origin of the app over http", app, "POST", "", "http://app.example.com", "app.example.com", false},
		{"same-origin GET", app, "GET", "same-origin", "", "app.example.com", true},
		{"same-origin POST", app, "POST", "same-origin", "https://app.example.com", "app.example.com", true},
		{"Origin with the default port", app, "POST", "", "https://app.example.com:443", "app.example.com", true},
		{"typed or bookmarked (Sec-Fetch-Site: none)", app, "GET", "none", "", "app.example.com", true},
		{"no fetch metadata at all", app, "GET", "", "", "app.example.com", true},
		{"no AppURL: Origin is the Host", "", "POST", "same-origin", "http://localhost:8080", "localhost:8080", true},
		{"no AppURL: Origin is not the Host", "", "POST", "", "http://evil.example:8080", "localhost:8080", false},
		{"no AppURL: cross-site", "", "GET", "cross-site", "", "localhost:8080", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, logs := cachedGuard(t, ory.URL, func(c *core.Config) { c.AppURL = tc.appURL })
			ory.Reset()
			r := &core.Request{Method: tc.method, URI: "/logout", Accept: browserAccept, Cookies: []string{"ory_kratos_session=c1"},
				SecFetchSite: tc.site, Origin: tc.origin, Host: tc.host}
			d := g.LogoutRedirect(context.Background(), r)
			got := d.Status == http.StatusSeeOther && strings.Contains(d.Header.Get("Location"), "/self-service/logout?token=")
			if got != tc.logout {
				t.Fatalf("status %d Location %q; want logout URL handed out: %v", d.Status, d.Header.Get("Location"), tc.logout)
			}
			if !tc.logout {
				if d.Status != http.StatusForbidden || d.Header.Get("Cache-Control") != "no-store" || len(ory.Requests()) != 0 {
					t.Fatalf("cross-site: %d %v, Ory received %v; want 403 no-store and Ory not asked", d.Status, d.Header, ory.Requests())
				}
				_, err := g.LogoutURL(context.Background(), r, "")
				if !errors.Is(err, core.ErrCrossSiteLogout) {
					t.Fatalf("LogoutURL: %v, want ErrCrossSiteLogout", err)
				}
			}
			if logs.Len() != 0 {
				t.Fatalf("logged: %s", logs.String())
			}
		})
	}
}

// TestLogoutReadsCookiesAsTheProtectedPathDoes: a session cookie that
// cannot be sent to Ory (a control byte) is no session on /logout too, not
// a 502 and an error log line (a way to flood logs and fire outage alerts).
func TestLogoutReadsCookiesAsTheProtectedPathDoes(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, logs := newGuard(t, ory.URL, nil)
	for _, tc := range []struct {
		name, cookie, sent string
	}{
		{"control byte in the value", "ory_kratos_session=a\x01b", ""},
		{"control byte in a planted name", "ory_session_a\x01b=x", ""},
		{"CR LF in the value", "ory_kratos_session=a\r\nX: y", ""},
		{"malformed one before the real one", "ory_kratos_session=a\x7fb; ory_kratos_session=good", "ory_kratos_session=good"},
		{"empty one after the real one", "ory_kratos_session=good; ory_kratos_session=", "ory_kratos_session=good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory.Reset()
			logs.Reset()
			d := g.LogoutRedirect(context.Background(), &core.Request{Method: http.MethodGet, URI: "/logout?return_to=/bye", Accept: browserAccept, Cookies: []string{tc.cookie}})
			rec := ory.Requests()
			if tc.sent == "" {
				if d.Status != http.StatusSeeOther || d.Header.Get("Location") != "/bye" || len(rec) != 0 {
					t.Fatalf("got %d Location %q, Ory received %v; want 303 to /bye without asking Ory", d.Status, d.Header.Get("Location"), rec)
				}
			} else if d.Status != http.StatusSeeOther || !sentOnly(rec, tc.sent, "") || rec[0].Path != "/self-service/logout/browser" {
				t.Fatalf("got %d, Ory received %v; want the logout URL for Cookie %q", d.Status, rec, tc.sent)
			}
			if logs.Len() != 0 {
				t.Fatalf("logged: %s", logs.String())
			}
		})
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
	if rec := ory.Requests(); !sentOnly(rec, "ory_kratos_session=good", "") || rec[0].Path != "/self-service/logout/browser" {
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

func TestNativeLogout(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("tok", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	d := g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", Authorization: "Bearer tok"})
	if d.Status != http.StatusNoContent || d.Header.Get("Location") != "" {
		t.Fatalf("native logout: %d %v", d.Status, d.Header)
	}
	// whoami first (the token is cached nowhere: the guard learns the
	// session's ID to forget it by), then the logout.
	if rec := ory.Requests(); !sentOnly(rec, "", "tok") || len(rec) != 2 || rec[1].Path != "/self-service/logout/api" {
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

// sentOnly reports whether Ory received one or two requests (the logout,
// and whoami to learn the session's ID) and each carried exactly cookie and
// token.
func sentOnly(rec []orytest.Recorded, cookie, token string) bool {
	if len(rec) == 0 || len(rec) > 2 {
		return false
	}
	for _, r := range rec {
		if r.Cookie != cookie || r.SessionToken != token || r.Authorization != "" {
			return false
		}
		if r.Path != "/sessions/whoami" && !strings.HasPrefix(r.Path, "/self-service/logout") {
			return false
		}
	}
	return true
}
