package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	oryproxy "github.com/oryguard/oryguard/adapters/proxy"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/pquerna/otp/totp"
)

// appHost is the app's site; Kratos listens on 127.0.0.1.
const appHost = "127.0.0.2"

// startKratos starts a real Kratos on 127.0.0.1 whose UI pages live on
// appOrigin, and returns its public URL. It is the one place that knows
// the Kratos harness: re-point it when the harness moves.
func startKratos(t *testing.T, appOrigin string) string {
	t.Helper()
	srv := harness.StartKratosT(t, harness.KratosOptions{
		UIURL:             appOrigin + "/auth",
		DefaultReturnURL:  appOrigin + "/",
		AllowedReturnURLs: []string{appOrigin},
	})
	return srv.PublicURL()
}

// browser is a cookie-keeping client that does not follow redirects and
// may only talk to the app's host: reaching Kratos directly fails the test.
type browser struct {
	t      *testing.T
	client *http.Client
	jar    http.CookieJar
	mu     sync.Mutex
	hosts  map[string]int
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, jar: jar, hosts: map[string]int{}}
	base := http.DefaultTransport
	b.client = &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			b.mu.Lock()
			b.hosts[r.URL.Hostname()]++
			b.mu.Unlock()
			if r.URL.Hostname() != appHost {
				return nil, fmt.Errorf("the browser was sent off the app, to %s", r.URL.Redacted())
			}
			return base.RoundTrip(r)
		}),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return b
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// do sends a request and returns the status, the Location and the body.
func (b *browser) do(method, target, accept string, form url.Values) (int, string, []byte) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read: %v", method, target, err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), out
}

// flow is the part of a Kratos flow the browser needs.
type flow struct {
	ID string `json:"id"`
	UI struct {
		Action string `json:"action"`
		Nodes  []struct {
			Attributes struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
				ID    string `json:"id"`
				Text  struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"attributes"`
		} `json:"nodes"`
	} `json:"ui"`
}

// text is the text of the flow's text node with this ID.
func (f *flow) text(id string) string {
	for _, n := range f.UI.Nodes {
		if n.Attributes.ID == id {
			return n.Attributes.Text.Text
		}
	}
	return ""
}

func (f *flow) csrf() string {
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == "csrf_token" {
			if s, ok := n.Attributes.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// selfService runs one browser flow (registration or login) the way a
// browser and the app's UI page do, through the app's origin only, and
// returns where Kratos sends the browser at the end.
func (b *browser) selfService(proxied, kind string, params, fields url.Values) string {
	b.t.Helper()
	return b.selfServiceFunc(proxied, kind, params, func(*flow) url.Values { return fields })
}

// selfServiceFunc is selfService with form fields that depend on the flow.
func (b *browser) selfServiceFunc(proxied, kind string, params url.Values, fieldsFor func(*flow) url.Values) string {
	b.t.Helper()
	return b.selfServiceAt(proxied, proxied+"/self-service/"+kind+"/browser?"+params.Encode(), kind, fieldsFor)
}

// selfServiceAt runs a flow from start, the URL that creates it: one the
// guard sent the browser to, or one the app links to.
func (b *browser) selfServiceAt(proxied, start, kind string, fieldsFor func(*flow) url.Values) string {
	b.t.Helper()
	status, loc, body := b.do("GET", start, "text/html", nil)
	if status != http.StatusSeeOther {
		b.t.Fatalf("%s: create flow: %d %s", kind, status, body)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Hostname() != appHost || u.Query().Get("flow") == "" {
		b.t.Fatalf("%s: the flow's UI page is %q, want one on the app", kind, loc)
	}
	// The UI page fetches the flow through the proxy to render its form.
	status, _, body = b.do("GET", proxied+"/self-service/"+kind+"/flows?id="+u.Query().Get("flow"), "application/json", nil)
	if status != http.StatusOK {
		b.t.Fatalf("%s: get flow: %d %s", kind, status, body)
	}
	var f flow
	if err := json.Unmarshal(body, &f); err != nil {
		b.t.Fatalf("%s: flow: %v", kind, err)
	}
	if !strings.HasPrefix(f.UI.Action, proxied+"/self-service/"+kind+"?") {
		b.t.Fatalf("%s: the form posts to %q, want the app's %s", kind, f.UI.Action, proxied)
	}
	fields := fieldsFor(&f)
	fields.Set("csrf_token", f.csrf())
	status, loc, body = b.do("POST", f.UI.Action, "text/html", fields)
	if status != http.StatusSeeOther {
		b.t.Fatalf("%s: submit: %d %s", kind, status, body)
	}
	return loc
}

// TestThroughTheApp: with Kratos on another site, a browser that only
// ever talks to the app registers, reaches a protected page, logs out (and
// the guard forgets the session at once, though it caches sessions for an
// hour), logs in again, refreshes its session, steps up with TOTP and holds
// the session cookie for the app's host. The guard knows the proxy
// (Config.BrowserURL): its own redirects to login, refresh and step-up and
// its logout route's 303 land on the app's origin, and the flows run from
// there.
func TestThroughTheApp(t *testing.T) {
	ln, err := net.Listen("tcp", appHost+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", appHost, err)
	}
	appOrigin := "http://" + ln.Addr().String()
	oryURL := startKratos(t, appOrigin)
	if strings.Contains(oryURL, appHost) {
		t.Fatalf("Kratos %s is on the app's site", oryURL)
	}

	// The guard sends browsers to the proxy (whoami still goes straight
	// to Kratos); the proxy tells the guard about logouts.
	guard, err := core.New(core.Config{
		OryURL:     oryURL,
		BrowserURL: appOrigin + oryproxy.DefaultPrefix,
		AppURL:     appOrigin,
		Cache:      core.CacheConfig{TTL: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := oryproxy.New(oryproxy.Config{OryURL: oryURL, AppURL: appOrigin, Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	if proxy.URL() != appOrigin+oryproxy.DefaultPrefix {
		t.Fatalf("proxy.URL() = %q, want the guard's BrowserURL %q", proxy.URL(), appOrigin+oryproxy.DefaultPrefix)
	}
	mux := http.NewServeMux()
	mux.Handle("/.ory/", proxy)
	mux.HandleFunc("/auth/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the app's UI page") })
	mux.Handle("/dashboard", oryhttp.Middleware(guard)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oryhttp.Session(r.Context())
		traits, _ := s.Identity.Traits.(map[string]any)
		_, _ = fmt.Fprintf(w, "hello %v", traits["email"])
	})))
	mux.Handle("/vault", oryhttp.Middleware(guard, core.RequireAAL2())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "aal2")
	})))
	mux.Handle("/refresh-session", oryhttp.RefreshHandler(guard))
	mux.Handle("POST /logout", oryhttp.LogoutHandler(guard))
	app := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })

	proxied := proxy.URL()
	b := newBrowser(t)
	email, password := fmt.Sprintf("proxy-%d@example.com", time.Now().UnixNano()), "a long enough proxy password 42"
	dashboard := appOrigin + "/dashboard"

	// The guard's own redirect to login lands on the app's origin, through
	// the proxy.
	toLogin := b.guardRedirect(dashboard, proxied+"/self-service/login/browser?")
	if got := toLogin.Query().Get("return_to"); got != dashboard {
		t.Fatalf("the guard's login redirect returns to %q, want %q", got, dashboard)
	}

	// Register: Kratos' session hook signs the browser in.
	loc := b.selfService(proxied, "registration", url.Values{"return_to": {dashboard}}, url.Values{
		"method": {"password"}, "traits.email": {email}, "password": {password},
	})
	if loc != dashboard {
		t.Fatalf("after registration the browser goes to %q, want %q", loc, dashboard)
	}
	wantDashboard(t, b, dashboard, email)
	old := wantCookieOnApp(t, b, appOrigin, oryURL)

	// Log out through the proxy: Kratos ends the session and the guard,
	// which cached it for an hour, forgets it at once.
	b.logout(proxied, appOrigin)
	if status, _, _ := b.do("GET", dashboard, "text/html", nil); status == http.StatusOK {
		t.Fatal("the protected page still opens after logging out through the proxy")
	}
	// The old cookie (another tab, a copy) no longer opens it either,
	// though the guard had cached its session for an hour.
	replay, err := http.NewRequestWithContext(t.Context(), "GET", dashboard, nil)
	if err != nil {
		t.Fatal(err)
	}
	replay.AddCookie(old)
	resp, err := http.DefaultTransport.RoundTrip(replay)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("the logged-out session cookie still opens the protected page: the guard did not forget it")
	}

	// Log in again, from where the guard sends the browser.
	loginFields := func(*flow) url.Values {
		return url.Values{"method": {"password"}, "identifier": {email}, "password": {password}}
	}
	toLogin = b.guardRedirect(dashboard, proxied+"/self-service/login/browser?")
	loc = b.selfServiceAt(proxied, toLogin.String(), "login", loginFields)
	if loc != dashboard {
		t.Fatalf("after login the browser goes to %q, want %q", loc, dashboard)
	}
	wantDashboard(t, b, dashboard, email)
	before := wantCookieOnApp(t, b, appOrigin, oryURL)

	// Refresh (re-authenticate) the session through the guard's
	// refresh route, as a MaxAuthAge route's link does.
	toRefresh := b.guardRedirect(appOrigin+"/refresh-session?return_to="+url.QueryEscape(dashboard), proxied+"/self-service/login/browser?")
	if toRefresh.Query().Get("refresh") != "true" {
		t.Fatalf("the guard's refresh redirect %q lacks refresh=true", toRefresh)
	}
	loc = b.selfServiceAt(proxied, toRefresh.String(), "login", loginFields)
	if loc != dashboard {
		t.Fatalf("after refreshing the browser goes to %q, want %q", loc, dashboard)
	}
	wantDashboard(t, b, dashboard, email)
	if after := wantCookieOnApp(t, b, appOrigin, oryURL); after.Value == "" || before.Value == "" {
		t.Fatal("lost the session cookie while refreshing")
	}

	// Add a TOTP second factor in the settings flow, log out, log in with
	// the password (Kratos sends the browser on to the aal2 login, through
	// the proxy) and step up with a TOTP code to open an aal2 page.
	var secret string
	loc = b.selfServiceFunc(proxied, "settings", url.Values{}, func(f *flow) url.Values {
		secret = f.text("totp_secret_key")
		if secret == "" {
			t.Fatal("the settings flow shows no TOTP secret")
		}
		return url.Values{"method": {"totp"}, "totp_code": {totpCode(t, secret)}}
	})
	if !strings.HasPrefix(loc, appOrigin+"/auth/settings?") {
		t.Fatalf("after enabling TOTP the browser goes to %q", loc)
	}
	// This time log out with the guard's own logout route: its 303 goes to
	// Kratos' logout_url moved onto the proxy.
	b.guardLogout(proxied, appOrigin)
	loc = b.selfService(proxied, "login", url.Values{"return_to": {appOrigin + "/vault"}}, url.Values{
		"method": {"password"}, "identifier": {email}, "password": {password},
	})
	stepUp, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, proxied+"/self-service/login/browser?") || stepUp.Query().Get("aal") != "aal2" {
		t.Fatalf("after a password login with TOTP the browser goes to %q, want the aal2 login on the app", loc)
	}
	// The aal2 page sends the aal1 session to step up, on the app's origin.
	toStepUp := b.guardRedirect(appOrigin+"/vault", proxied+"/self-service/login/browser?")
	if toStepUp.Query().Get("aal") != "aal2" {
		t.Fatalf("the guard's step-up redirect %q lacks aal=aal2", toStepUp)
	}
	loc = b.selfServiceAt(proxied, toStepUp.String(), "login", func(*flow) url.Values {
		return url.Values{"method": {"totp"}, "totp_code": {totpCode(t, secret)}}
	})
	if loc != appOrigin+"/vault" {
		t.Fatalf("after the second factor the browser goes to %q", loc)
	}
	if status, _, body := b.do("GET", appOrigin+"/vault", "text/html", nil); status != http.StatusOK || string(body) != "aal2" {
		t.Fatalf("aal2 page: %d %s", status, body)
	}
	wantCookieOnApp(t, b, appOrigin, oryURL)

	b.mu.Lock()
	defer b.mu.Unlock()
	for host := range b.hosts {
		if host != appHost {
			t.Errorf("the browser reached %s", host)
		}
	}
}

// guardRedirect opens a guarded page of the app and checks that the guard
// answers 303 to a URL starting with want (on the app's origin); it
// returns that URL.
func (b *browser) guardRedirect(page, want string) *url.URL {
	b.t.Helper()
	status, loc, body := b.do("GET", page, "text/html", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
		b.t.Fatalf("GET %s: %d to %q (%s), want a 303 to %s...", page, status, loc, body, want)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// guardLogout logs the browser out with the guard's logout route (a
// form's POST): the guard's 303 goes to Kratos' logout URL on the proxy.
func (b *browser) guardLogout(proxied, appOrigin string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), "POST", appOrigin+"/logout", nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, proxied+"/self-service/logout?") {
		b.t.Fatalf("POST /logout: %d to %q, want a 303 to the logout URL on the app", resp.StatusCode, loc)
	}
	status, next, _ := b.do("GET", loc, "text/html", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(next, appOrigin+"/") {
		b.t.Fatalf("logout: %d to %q", status, next)
	}
}

// logout logs the browser out through the proxy, as a logout button does.
func (b *browser) logout(proxied, appOrigin string) {
	b.t.Helper()
	status, _, body := b.do("GET", proxied+"/self-service/logout/browser", "application/json", nil)
	if status != http.StatusOK {
		b.t.Fatalf("logout flow: %d %s", status, body)
	}
	var logout struct {
		LogoutURL string `json:"logout_url"`
	}
	if err := json.Unmarshal(body, &logout); err != nil || !strings.HasPrefix(logout.LogoutURL, proxied+"/self-service/logout?") {
		b.t.Fatalf("logout_url %q (%v), want one on the app", logout.LogoutURL, err)
	}
	status, loc, _ := b.do("GET", logout.LogoutURL, "text/html", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, appOrigin+"/") {
		b.t.Fatalf("logout: %d to %q", status, loc)
	}
}

func totpCode(t *testing.T, secret string) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantDashboard(t *testing.T, b *browser, dashboard, email string) {
	t.Helper()
	status, loc, body := b.do("GET", dashboard, "text/html", nil)
	if status != http.StatusOK || string(body) != "hello "+email {
		t.Fatalf("protected page: %d %q %s", status, loc, body)
	}
}

// wantCookieOnApp checks that the session cookie is held for the app's
// host, and nothing for Kratos', and returns it.
func wantCookieOnApp(t *testing.T, b *browser, appOrigin, oryURL string) *http.Cookie {
	t.Helper()
	app, _ := url.Parse(appOrigin)
	ory, _ := url.Parse(oryURL)
	var found *http.Cookie
	for _, c := range b.jar.Cookies(app) {
		if c.Name == "ory_kratos_session" && c.Value != "" {
			found = c
		}
	}
	if found == nil {
		t.Fatalf("no session cookie for the app's host; jar has %v", b.jar.Cookies(app))
	}
	if cs := b.jar.Cookies(ory); len(cs) != 0 {
		t.Fatalf("cookies for Kratos' host: %v", cs)
	}
	return found
}
