// Package apptest is the test every example app runs: the same requests
// against the app served on a loopback port, with the guard pointed at
// core/orytest's fake Ory server instead of a real Kratos.
package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/examples/internal/ui"
)

// Session cookie value and email of the fake session.
const (
	cookieValue = "fake-session-cookie"
	email       = "ada@example.com"
	sessionID   = "session-1"

	verifiedCookie = "fake-verified-session-cookie"
	verifiedEmail  = "bo@example.com"
	verifiedID     = "session-2"
)

// AppOrigin is the public origin the apps under test are configured with:
// the guard's BrowserURL and the Ory proxy's URLs are built on it.
const AppOrigin = "http://app.test"

// Run starts a fake Ory server, builds the app with serve (which serves the
// guard's app and its Ory proxy and flow pages on a loopback port and
// returns its base URL) and checks the public page, the dashboard, /api/me,
// the proxy and the flow pages.
func Run(t *testing.T, serve func(t *testing.T, guard *core.Guard, ory *ui.Ory) (baseURL string)) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(cookieValue, orytest.ActiveSession(sessionID, email)) // email not verified
	verified := orytest.ActiveSession(verifiedID, verifiedEmail)
	verified.Identity.VerifiableAddresses = []client.VerifiableIdentityAddress{{Value: verifiedEmail, Via: "email", Status: "completed", Verified: true}}
	ory.Session(verifiedCookie, verified)
	proxied := AppOrigin + ui.ProxyPrefix
	// Ory Permissions, as make demo's Keto has it: the admins group may
	// view the demo document, and the verified user is an admin.
	keto := orytest.NewKeto()
	t.Cleanup(keto.Close)
	keto.Add(orytest.Tuple{Namespace: "documents", Object: ui.DemoDocument, Relation: "viewer",
		SetNamespace: "groups", SetObject: "admins", SetRelation: "member"})
	keto.Allow("groups", "admins", "member", verified.Identity.Id)
	guard, err := core.New(core.Config{OryURL: ory.URL, BrowserURL: proxied, Permissions: core.PermissionsConfig{URL: keto.URL}})
	if err != nil {
		t.Fatal(err)
	}
	mounted, err := ui.NewOry(ory.URL, AppOrigin, guard, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, guard, mounted)

	t.Run("Ory proxy mounted outside the guard", func(t *testing.T) {
		r := get(t, base+"/.ory/sessions/whoami", "application/json", true)
		want(t, r, http.StatusOK, "application/json", sessionID)
		if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("Cache-Control %q: not the proxy's answer", cc)
		}
		r = get(t, base+"/.ory/admin/identities", "", false)
		want(t, r, http.StatusNotFound, "")
	})

	t.Run("public page", func(t *testing.T) {
		r := get(t, base+"/", "", false)
		want(t, r, http.StatusOK, "text/html", `href="/dashboard"`, `id="login"`)
		r = get(t, base+"/", "", true)
		want(t, r, http.StatusOK, "text/html", email, `action="/logout"`)
	})
	t.Run("dashboard with a session shows the email", func(t *testing.T) {
		r := get(t, base+"/dashboard", "", true)
		want(t, r, http.StatusOK, "text/html", email, sessionID, `action="/logout"`, `href="/refresh-session?return_to=%2fdashboard"`)
	})
	t.Run("dashboard as JSON", func(t *testing.T) {
		r := get(t, base+"/dashboard", "application/json", true)
		want(t, r, http.StatusOK, "application/json")
		var p struct{ ID, Email string }
		decode(t, r, &p)
		if p.ID != sessionID || p.Email != email {
			t.Errorf("dashboard JSON = %+v", p)
		}
	})
	t.Run("dashboard without a session redirects to login", func(t *testing.T) {
		r := get(t, base+"/dashboard", "", false)
		want(t, r, http.StatusSeeOther, "")
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, proxied+"/self-service/login/browser?") || !strings.Contains(loc, "return_to=%2Fdashboard") {
			t.Errorf("Location = %q, want Ory's login flow returning to /dashboard", loc)
		}
	})
	t.Run("api/me without a session is 401 JSON", func(t *testing.T) {
		r := get(t, base+"/api/me", "", false) // a browser-like request: ForceAPI answers JSON anyway
		want(t, r, http.StatusUnauthorized, "application/json")
		var e struct{ Error struct{ Code int } }
		decode(t, r, &e)
		if e.Error.Code != http.StatusUnauthorized {
			t.Errorf("error body = %+v", e)
		}
	})
	t.Run("api/me with a session", func(t *testing.T) {
		r := get(t, base+"/api/me", "", true)
		want(t, r, http.StatusOK, "application/json")
		var p struct{ ID, Email string }
		decode(t, r, &p)
		if p.ID != sessionID || p.Email != email {
			t.Errorf("/api/me = %+v", p)
		}
	})
	t.Run("verified: a verified email passes", func(t *testing.T) {
		r := getWith(t, base+"/verified", "", verifiedCookie)
		want(t, r, http.StatusOK, "text/html", verifiedEmail, verifiedID)
	})
	t.Run("verified: an unverified email gets the app's page, API clients the guard's JSON", func(t *testing.T) {
		r := get(t, base+"/verified", "", true)
		want(t, r, http.StatusForbidden, "text/html", `id="verify-email"`)
		r = get(t, base+"/verified", "application/json", true)
		want(t, r, http.StatusForbidden, "application/json")
		var e struct{ Error struct{ Code int } }
		decode(t, r, &e)
		if e.Error.Code != http.StatusForbidden {
			t.Errorf("error body = %+v", e)
		}
	})
	t.Run("verified: without a session, the guard's login redirect", func(t *testing.T) {
		r := get(t, base+"/verified", "", false)
		want(t, r, http.StatusSeeOther, "")
		if loc := r.Header.Get("Location"); !strings.Contains(loc, "return_to=%2Fverified") {
			t.Errorf("Location = %q", loc)
		}
	})
	t.Run("docs: a member of groups:admins opens the demo document", func(t *testing.T) {
		r := getWith(t, base+"/docs/"+ui.DemoDocument, "", verifiedCookie)
		want(t, r, http.StatusOK, "text/html", `id="document"`, ui.DemoDocument, verifiedEmail)
		// Percent-encoded, the page shows the object that was checked.
		r = getWith(t, base+"/docs/"+strings.ReplaceAll(ui.DemoDocument, "-", "%2D"), "", verifiedCookie)
		want(t, r, http.StatusOK, "text/html", `<code id="document-id">`+ui.DemoDocument+`</code>`)
	})
	t.Run("docs: anyone else gets 403, the guard never a login redirect", func(t *testing.T) {
		keto.Reset()
		r := get(t, base+"/docs/"+ui.DemoDocument, "", true)
		want(t, r, http.StatusForbidden, "")
		r = getWith(t, base+"/docs/other-plan", "", verifiedCookie)
		want(t, r, http.StatusForbidden, "")
		r = get(t, base+"/docs/"+ui.DemoDocument, "application/json", true)
		want(t, r, http.StatusForbidden, "application/json")
		if n := keto.Calls(); n != 3 {
			t.Errorf("Keto was asked %d times for 3 requests", n)
		}
	})
	t.Run("docs: without a session, the login redirect and no check", func(t *testing.T) {
		keto.Reset()
		r := get(t, base+"/docs/"+ui.DemoDocument, "", false)
		want(t, r, http.StatusSeeOther, "")
		if n := keto.Calls(); n != 0 {
			t.Errorf("Keto was asked %d times for an anonymous request", n)
		}
	})
	t.Run("refresh and logout", func(t *testing.T) {
		r := get(t, base+"/refresh-session?return_to=/dashboard", "", true)
		want(t, r, http.StatusSeeOther, "")
		if loc := r.Header.Get("Location"); !strings.Contains(loc, "refresh=true") || !strings.Contains(loc, "return_to=%2Fdashboard") {
			t.Errorf("refresh Location = %q", loc)
		}
		// The log-out button posts a form from the app's own page.
		r = post(t, base+"/logout", base)
		want(t, r, http.StatusSeeOther, "")
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, proxied+"/self-service/logout?token=") {
			t.Errorf("logout Location = %q", loc)
		}
		// A form on another site does not log the user out.
		r = post(t, base+"/logout", "https://evil.example")
		want(t, r, http.StatusForbidden, "text/plain")
	})
	t.Run("flow pages start a flow", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/login?return_to=%2Fdashboard&refresh=true", "/self-service/login/browser?refresh=true&return_to=%2Fdashboard"},
			{"/registration", "/self-service/registration/browser"},
			{"/settings", "/self-service/settings/browser"},
			{"/login?flow=unknown", "/self-service/login/browser"}, // the fake Ory answers 404
		} {
			r := get(t, base+tc.path, "", false)
			want(t, r, http.StatusSeeOther, "")
			if loc := r.Header.Get("Location"); loc != proxied+tc.want {
				t.Errorf("GET %s: Location = %q, want %q", tc.path, loc, proxied+tc.want)
			}
		}
	})
}

var httpClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type response struct {
	*http.Response
	body []byte
}

func get(t *testing.T, rawURL, accept string, session bool) response {
	t.Helper()
	cookie := ""
	if session {
		cookie = cookieValue
	}
	return getWith(t, rawURL, accept, cookie)
}

// getWith is get with the session cookie value cookie ("" for none).
func getWith(t *testing.T, rawURL, accept, cookie string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: cookie})
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, body}
}

// post submits the log-out form as a browser does from a page of origin:
// Origin and Sec-Fetch-Site set, the session cookie sent.
func post(t *testing.T, rawURL, origin string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rawURL, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	site := "cross-site"
	if strings.HasPrefix(rawURL, origin+"/") {
		site = "same-origin"
	}
	req.Header.Set("Sec-Fetch-Site", site)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: cookieValue})
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, body}
}

func want(t *testing.T, r response, status int, contentType string, contains ...string) {
	t.Helper()
	u, _ := url.PathUnescape(r.Request.URL.RequestURI())
	if r.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d; body:\n%s", u, r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
		t.Errorf("GET %s: Content-Type %q, want %s", u, ct, contentType)
	}
	for _, s := range contains {
		if !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(s)) {
			t.Errorf("GET %s: body lacks %q:\n%s", u, s, r.body)
		}
	}
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}
