package firsthour_test

import (
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// loopMarker is the login-loop marker cookie's name for an app on http.
const loopMarker = "oryguard_login_loop"

// A browser signed in at a real Kratos on 127.0.0.1 (its session cookie set
// for 127.0.0.1, as Kratos does by default) comes back to an app on
// 127.0.0.2, another site, which never receives that cookie. The first
// return is sent to login again and marked; Kratos, which has a session,
// sends the browser straight back; the second return gets the 401 page that
// explains the cookie's domain, clears the marker and links to login. An API
// client making the same requests never gets the page nor a cookie.
func TestLoginLoopWithKratosOnAnotherSite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2, the app's site (Linux routes all of 127.0.0.0/8 to loopback; elsewhere add the alias): %v", err)
	}
	app := httptest.NewUnstartedServer(nil)
	_ = app.Listener.Close()
	app.Listener = ln
	appURL := "http://" + ln.Addr().String()

	kr := harness.StartKratosT(t, harness.KratosOptions{AllowedReturnURLs: []string{appURL}})
	guard, err := core.New(core.Config{OryURL: kr.PublicURL(), AppURL: appURL})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = oryhttp.Middleware(guard)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "protected")
	}))
	app.Start()
	defer app.Close()

	bs, err := kr.RegisterBrowser(t.Context(), "loop@example.com", "a-l0ng-and-unusual-passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	// The browser that signed in: Kratos' cookies for 127.0.0.1, none for the app.
	browser := &http.Client{
		Jar:           bs.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	page := appURL + "/dashboard"
	if u, _ := url.Parse(appURL); len(bs.Jar.Cookies(u)) != 0 {
		t.Fatalf("the jar holds cookies for the app before it set any: %v", bs.Jar.Cookies(u))
	}

	// 1) A first visit, typed: sent to Kratos' login, not marked.
	r := navigate(t, browser, page, "none")
	login := wantLoginRedirect(t, r, kr.PublicURL())
	if c := markerSetCookie(r); c != nil {
		t.Errorf("a typed first visit set the marker: %v", c)
	}

	// 2) At Kratos' login with a session: Kratos sends the browser back.
	back := wantReturn(t, navigate(t, browser, login, "cross-site"), appURL)
	r = navigate(t, browser, back, "cross-site")
	login = wantLoginRedirect(t, r, kr.PublicURL())
	if c := markerSetCookie(r); c == nil || c.Value == "" || c.MaxAge <= 0 {
		t.Fatalf("the first return from Kratos set no marker: Set-Cookie %q", r.Header.Values("Set-Cookie"))
	}

	// 3) Kratos sends it back again: the second return gets the page.
	back = wantReturn(t, navigate(t, browser, login, "cross-site"), appURL)
	r = navigate(t, browser, back, "cross-site")
	body := readBody(t, r)
	if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("second return: %s %q, want 401 text/html; body:\n%s", r.Status, r.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{"cookie", "domain", "oryproxy", "session.cookie.domain", kr.PublicURL()[len("http://"):], ln.Addr().String()} {
		if !strings.Contains(body, want) {
			t.Errorf("the loop page does not mention %q:\n%s", want, body)
		}
	}
	if c := markerSetCookie(r); c == nil || c.MaxAge >= 0 {
		t.Errorf("the loop page does not clear the marker: Set-Cookie %q", r.Header.Values("Set-Cookie"))
	}
	if u, _ := url.Parse(appURL); len(bs.Jar.Cookies(u)) != 0 {
		t.Errorf("the browser still holds cookies for the app after the page: %v", bs.Jar.Cookies(u))
	}
	m := regexp.MustCompile(`<a href="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the loop page has no link:\n%s", body)
	}
	link := html.UnescapeString(m[1])
	if !strings.HasPrefix(link, kr.PublicURL()+"/self-service/login/browser") {
		t.Fatalf("the page's link %q is not Kratos' login", link)
	}

	// 4) The link continues to Kratos' login; counting starts afresh, so
	// the next return is redirected and marked again, not answered with the page.
	back = wantReturn(t, navigate(t, browser, link, "same-origin"), appURL)
	r = navigate(t, browser, back, "cross-site")
	wantLoginRedirect(t, r, kr.PublicURL())
	if c := markerSetCookie(r); c == nil || c.MaxAge <= 0 {
		t.Errorf("the return after the page's link set no fresh marker: Set-Cookie %q", r.Header.Values("Set-Cookie"))
	}

	// An API client doing the same, with Kratos' session in its jar too.
	api := &http.Client{
		Jar:           bs.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for i := range 3 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, page, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := api.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			strings.Contains(body, "oryproxy") {
			t.Errorf("API call %d: %s %q, want a 401 that is not the page; body:\n%s", i+1, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("API call %d set cookies: %q", i+1, sc)
		}
	}
}

// navigate is a browser's page load of target, arriving from a page whose
// relation to target's origin is site (a Sec-Fetch-Site value).
func navigate(t *testing.T, c *http.Client, target, site string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// wantLoginRedirect checks that r is a 303 to Kratos' browser login and
// returns its Location.
func wantLoginRedirect(t *testing.T, r *http.Response, kratos string) string {
	t.Helper()
	body := readBody(t, r)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, kratos+"/self-service/login/browser") {
		t.Fatalf("%s %s: %s to %q, want 303 to Kratos' login; body:\n%s", r.Request.Method, r.Request.URL, r.Status, loc, body)
	}
	return loc
}

// wantReturn checks that Kratos, which has a session, sent the browser
// straight back to the app, and returns where.
func wantReturn(t *testing.T, r *http.Response, appURL string) string {
	t.Helper()
	body := readBody(t, r)
	loc := r.Header.Get("Location")
	if r.StatusCode < 300 || r.StatusCode > 399 || !strings.HasPrefix(loc, appURL+"/") {
		t.Fatalf("Kratos' login %s: %s to %q, want a redirect back to the app; body:\n%s", r.Request.URL, r.Status, loc, body)
	}
	return loc
}

// markerSetCookie is the marker's Set-Cookie in r, or nil.
func markerSetCookie(r *http.Response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == loopMarker {
			return c
		}
	}
	return nil
}

func readBody(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
