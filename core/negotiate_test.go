package core_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestFetchGetsAPIAnswers: a request that is not a page load (fetch
// metadata) gets the 401 JSON with the login URL, whatever Accept says; a
// page load still gets the 303; route options still win. Each request is
// read through RequestFromHTTP and through RequestFromRaw.
func TestFetchGetsAPIAnswers(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	const app = "https://app.example.com"
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = app })
	tests := []struct {
		name   string
		header map[string]string
		opts   []core.Option
		status int
	}{
		{"fetch, Accept */*", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, nil, 401},
		{"fetch same-origin, Accept html", map[string]string{"Accept": browserAccept, "Sec-Fetch-Mode": "same-origin"}, nil, 401},
		{"no-cors image", map[string]string{"Accept": "image/*", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, nil, 401},
		{"dest alone, not a document", map[string]string{"Accept": browserAccept, "Sec-Fetch-Dest": "empty"}, nil, 401},
		{"navigation", map[string]string{"Accept": browserAccept, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, nil, 303},
		{"navigation, upper case", map[string]string{"Accept": browserAccept, "Sec-Fetch-Mode": "Navigate", "Sec-Fetch-Dest": "Document"}, nil, 303},
		{"navigation preferring JSON", map[string]string{"Accept": "application/json", "Sec-Fetch-Mode": "navigate"}, nil, 401},
		{"no fetch metadata, html", map[string]string{"Accept": browserAccept}, nil, 303},
		{"no fetch metadata, */*", map[string]string{"Accept": "*/*"}, nil, 303},
		{"fetch, ForceBrowser", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "cors"}, []core.Option{core.ForceBrowser()}, 303},
		{"navigation, ForceAPI", map[string]string{"Accept": browserAccept, "Sec-Fetch-Mode": "navigate"}, []core.Option{core.ForceAPI()}, 401},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		hr, _ := http.NewRequest(http.MethodGet, app+"/dash?tab=1", nil)
		hr.RequestURI = "/dash?tab=1"
		hr.Header = h
		fromHTTP := core.RequestFromHTTP(hr)
		fromRaw := core.RequestFromRaw(newRawHeader(http.MethodGet, "/dash?tab=1", h), []byte("app.example.com"))
		for via, req := range map[string]*core.Request{"http": &fromHTTP, "raw": &fromRaw} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				d := g.Route(tc.opts...).Authenticate(context.Background(), req)
				if d.Status != tc.status {
					t.Fatalf("status %d, want %d", d.Status, tc.status)
				}
				if tc.status == 303 {
					if loc := d.Header.Get("Location"); loc != g.LoginURL("/dash?tab=1") {
						t.Fatalf("Location %q, want %q", loc, g.LoginURL("/dash?tab=1"))
					}
					return
				}
				// The JSON names the URL the redirect would have used.
				if e := decodeErr(t, d); e.RedirectBrowserTo != g.LoginURL("/dash?tab=1") || e.Error.Code != 401 {
					t.Fatalf("body %s, want redirect_browser_to %q", d.Body, g.LoginURL("/dash?tab=1"))
				}
				if d.Denial.Location != g.LoginURL("/dash?tab=1") || d.Header.Get("Location") != "" {
					t.Fatalf("Denial.Location %q, Location header %q", d.Denial.Location, d.Header.Get("Location"))
				}
			})
		}
	}
}

// TestRedirectBrowserTo: every 401/403 JSON body names the flow a browser
// would be sent to, with the same return_to; native token clients get none
// in a 401 (flowFor says why), but keep it for step-up.
func TestRedirectBrowserTo(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("active", orytest.ActiveSession("s1", "a@example.com"))
	ory.Session("old", oldSession("s2"))
	g, _ := newGuard(t, ory.URL, nil)
	fetch := func(cookie string) *core.Request {
		r := &core.Request{Method: http.MethodGet, URI: "/p?x=1", Accept: "*/*", SecFetchMode: "cors", SecFetchDest: "empty"}
		if cookie != "" {
			r.Cookies = []string{"ory_kratos_session=" + cookie}
		}
		return r
	}
	tests := []struct {
		name   string
		route  *core.Route
		req    *core.Request
		status int
		want   string // redirect_browser_to
	}{
		{"no session", g.Route(), fetch(""), 401, g.LoginURL("/p?x=1")},
		{"unknown cookie", g.Route(), fetch("nope"), 401, g.LoginURL("/p?x=1")},
		{"step-up", g.Route(core.RequireAAL2()), fetch("active"), 403, g.StepUpURL("/p?x=1")},
		{"refresh", g.Route(core.MaxAuthAge(1)), fetch("old"), 403, g.RefreshURL("/p?x=1")},
		{"token, no session", g.Route(), &core.Request{URI: "/p?x=1", SessionToken: "nope"}, 401, ""},
		{"bearer, no session", g.Route(), &core.Request{URI: "/p?x=1", Authorization: "Bearer nope"}, 401, ""},
		{"token, step-up", g.Route(core.RequireAAL2()), &core.Request{URI: "/p?x=1", SessionToken: "active"}, 403, g.StepUpURL("/p?x=1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.route.Authenticate(context.Background(), tc.req)
			if d.Status != tc.status {
				t.Fatalf("status %d, want %d", d.Status, tc.status)
			}
			if e := decodeErr(t, d); e.RedirectBrowserTo != tc.want {
				t.Fatalf("redirect_browser_to %q, want %q", e.RedirectBrowserTo, tc.want)
			}
		})
	}
}

// TestLogoutAnswersFetch: a logout requested by fetch (or preferring JSON)
// gets the logout URL in JSON instead of a redirect; a page load still gets
// the 303, and a cross-site fetch still gets 403 and logs nobody out.
func TestLogoutAnswersFetch(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.AppURL = "https://app.example.com" })
	req := func(mode, accept, site, cookie string) *core.Request {
		r := &core.Request{Method: http.MethodPost, URI: "/logout?return_to=/bye", Accept: accept, SecFetchMode: mode,
			SecFetchSite: site, Origin: "https://app.example.com"}
		if site == "cross-site" {
			r.Origin = "https://evil.example"
		}
		if cookie != "" {
			r.Cookies = []string{"ory_kratos_session=" + cookie}
		}
		return r
	}
	tests := []struct {
		name   string
		req    *core.Request
		status int
		url    string // logout_url, or the Location of a 303
	}{
		{"fetch", req("cors", "*/*", "same-origin", "good"), 200, ory.URL + "/self-service/logout?token=fake-logout-token&return_to=https://app.example.com/bye"},
		{"fetch, no session", req("same-origin", "*/*", "same-origin", ""), 200, "https://app.example.com/bye"},
		{"JSON, no fetch metadata", req("", "application/json", "", "good"), 200, ory.URL + "/self-service/logout?token=fake-logout-token&return_to=https://app.example.com/bye"},
		{"form post", req("navigate", browserAccept, "same-origin", "good"), 303, ory.URL + "/self-service/logout?token=fake-logout-token&return_to=https://app.example.com/bye"},
		{"cross-site fetch", req("cors", "*/*", "cross-site", "good"), 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := g.LogoutRedirect(context.Background(), tc.req)
			if d.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", d.Status, tc.status, d.Body)
			}
			switch tc.status {
			case 200:
				var body struct {
					LogoutURL string `json:"logout_url"`
				}
				if err := json.Unmarshal(d.Body, &body); err != nil || d.Header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Fatalf("body %q (%v), Content-Type %q", d.Body, err, d.Header.Get("Content-Type"))
				}
				if u, _ := url.QueryUnescape(body.LogoutURL); u != tc.url {
					t.Fatalf("logout_url %q, want %q", u, tc.url)
				}
			case 303:
				if u, _ := url.QueryUnescape(d.Header.Get("Location")); u != tc.url {
					t.Fatalf("Location %q, want %q", u, tc.url)
				}
			case 403:
				if decodeErr(t, d).Error.Code != 403 {
					t.Fatalf("body %s", d.Body)
				}
			}
		})
	}
}
