package oryproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{OryURL: "https://ory.example", AppURL: "https://app.example"}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no OryURL", func(c *Config) { c.OryURL = "" }},
		{"no AppURL", func(c *Config) { c.AppURL = "" }},
		{"relative AppURL", func(c *Config) { c.AppURL = "app.example" }},
		{"AppURL with a path", func(c *Config) { c.AppURL = "https://app.example/app" }},
		{"AppURL with a query", func(c *Config) { c.AppURL = "https://app.example?x=1" }},
		{"AppURL with credentials", func(c *Config) { c.AppURL = "https://u:p@app.example" }},
		{"OryURL not http", func(c *Config) { c.OryURL = "ftp://ory.example" }},
		{"OryURL with credentials", func(c *Config) { c.OryURL = "https://ory.example@evil.example" }},
		{"Prefix and AtRoot", func(c *Config) { c.Prefix, c.AtRoot = "/.ory", true }},
		{"Prefix relative", func(c *Config) { c.Prefix = ".ory" }},
		{"Prefix root", func(c *Config) { c.Prefix = "/" }},
		{"Prefix unclean", func(c *Config) { c.Prefix = "/a/../b" }},
		{"Prefix trailing slash", func(c *Config) { c.Prefix = "/.ory/" }},
		{"CookieDomain elsewhere", func(c *Config) { c.CookieDomain = "evil.example" }},
		{"CookieDomain suffix only", func(c *Config) { c.CookieDomain = "p.example" }},
		{"AllowHeaders Host", func(c *Config) { c.AllowHeaders = []string{"host"} }},
		{"AllowHeaders Cookie", func(c *Config) { c.AllowHeaders = []string{"Cookie"} }},
		{"AllowHeaders X-Forwarded-Host", func(c *Config) { c.AllowHeaders = []string{"x-forwarded-host"} }},
		{"AllowHeaders Ory-", func(c *Config) { c.AllowHeaders = []string{"Ory-Base-URL-Rewrite"} }},
		{"AllowHeaders hop-by-hop", func(c *Config) { c.AllowHeaders = []string{"Connection"} }},
		{"bad cookie name", func(c *Config) { c.Cookies = []string{"a=b"} }},
		{"bare star cookie", func(c *Config) { c.Cookies = []string{"*"} }},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := New(c); err == nil {
				t.Fatalf("New accepted %+v", c)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("New refused a good config: %v", err)
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{OryURL: "https://ory.example", AppURL: "https://app.example"}, "https://app.example/.ory"},
		{Config{OryURL: "https://ory.example", AppURL: "https://App.Example:8443/"}, "https://app.example:8443/.ory"},
		{Config{OryURL: "https://ory.example", AppURL: "http://localhost:8080", Prefix: "/auth/ory"}, "http://localhost:8080/auth/ory"},
		{Config{OryURL: "https://ory.example", AppURL: "http://localhost:8080", AtRoot: true}, "http://localhost:8080"},
	}
	for _, tt := range tests {
		p, err := New(tt.cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", tt.cfg, err)
		}
		if got := p.URL(); got != tt.want {
			t.Errorf("URL() = %q, want %q", got, tt.want)
		}
	}
}

// TestPaths: only Ory's public browser surface reaches Ory, by the exact
// path asked; every other path, and every path that is not clean after
// decoding, is refused before anything is sent.
func TestPaths(t *testing.T) {
	tests := []struct {
		method, target string
		status         int
		reach          string // the path Ory sees; "" means Ory must not be asked
	}{
		{"GET", "/.ory/self-service/login/browser?return_to=x", 200, "/self-service/login/browser"},
		{"POST", "/.ory/self-service/login?flow=1", 200, "/self-service/login"},
		{"GET", "/.ory/self-service/logout?token=t", 200, "/self-service/logout"},
		{"GET", "/.ory/sessions/whoami", 200, "/sessions/whoami"},
		{"GET", "/.ory/sessions", 200, "/sessions"},
		{"DELETE", "/.ory/sessions", 200, "/sessions"},
		{"DELETE", "/.ory/sessions/7c1f", 200, "/sessions/7c1f"},
		{"GET", "/.ory/.well-known/ory/webauthn.js", 200, "/.well-known/ory/webauthn.js"},
		{"GET", "/.ory/ui/login", 200, "/ui/login"},
		{"GET", "/.ory/ui", 200, "/ui"},
		{"GET", "/.ory/ui/_next/static/%5Bslug%5D.js", 200, "/ui/_next/static/[slug].js"},

		{"POST", "/.ory/sessions/whoami", 405, ""},
		{"GET", "/.ory/sessions/7c1f", 405, ""},
		{"PUT", "/.ory/self-service/login", 405, ""},
		{"POST", "/.ory/ui/login", 405, ""},

		{"GET", "/.ory/admin/identities", 404, ""},
		{"GET", "/.ory/identities", 404, ""},
		{"GET", "/.ory/health/ready", 404, ""},
		{"GET", "/.ory/schemas/default", 404, ""},
		{"GET", "/.ory/", 404, ""},
		{"GET", "/.ory", 404, ""},
		{"GET", "/.oryx/sessions/whoami", 404, ""},
		{"GET", "/sessions/whoami", 404, ""},
		{"DELETE", "/.ory/sessions/7c1f/extend", 404, ""},
		{"GET", "/.ory/self-service/../admin/identities", 404, ""},
		{"GET", "/.ory/self-service/%2e%2e/admin/identities", 404, ""},
		{"GET", "/.ory/self-service/%2E%2E/admin/identities", 404, ""},
		{"GET", "/.ory/%2e%2e/admin/identities", 404, ""},
		{"GET", "/.ory/self-service/./login/browser", 404, ""},
		{"GET", "/.ory/self-service/%2e/login/browser", 404, ""},
		{"GET", "/.ory/sessions%2fwhoami", 404, ""},
		{"GET", "/.ory/sessions%2Fwhoami", 404, ""},
		{"GET", "/.ory/self-service%2f..%2fadmin", 404, ""},
		{"GET", "/.ory//sessions/whoami", 404, ""},
		{"GET", "/.ory/self-service//login", 404, ""},
		{"GET", "/.ory/sessions/whoami/", 404, ""},
		{"GET", `/.ory/self-service\..\admin`, 404, ""},
		{"GET", "/.ory/self-service%5c..%5cadmin", 404, ""},
		{"GET", "/.ory/self-service/%252e%252e/admin", 404, ""},
		{"GET", "/.ory/self-service/login%00", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			f := newFakeOry(t, nil)
			p, _ := newProxy(t, f, Config{})
			w := do(p, tt.method, tt.target, nil, nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			got := f.requests()
			if tt.reach == "" {
				if len(got) != 0 {
					t.Fatalf("Ory was asked %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Path != tt.reach || got[0].Method != tt.method {
				t.Fatalf("Ory saw %+v, want one %s %s", got, tt.method, tt.reach)
			}
			if want := http.Header.Get(w.Header(), "Allow"); w.Code == 405 && want == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
}

func TestAtRootAndOryBasePath(t *testing.T) {
	f := newFakeOry(t, nil)
	p, _ := newProxy(t, f, Config{AtRoot: true, OryURL: f.URL + "/kratos/"})
	if w := do(p, "GET", "/sessions/whoami?x=1", nil, nil); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if w := do(p, "GET", "/.ory/sessions/whoami", nil, nil); w.Code != 404 {
		t.Fatalf("prefixed path at the root: status %d, want 404", w.Code)
	}
	got := f.requests()
	if len(got) != 1 || got[0].Path != "/kratos/sessions/whoami" || got[0].Query != "x=1" {
		t.Fatalf("Ory saw %+v", got)
	}
}

// TestRequestHeaders: what reaches Ory is the allow-list, Ory's cookies
// only, and the proxy's own Ory-* headers, whatever the client sends.
func TestRequestHeaders(t *testing.T) {
	hostile := http.Header{
		"Accept":                        {"text/html"},
		"Accept-Language":               {"de"},
		"User-Agent":                    {"browser/1"},
		"Origin":                        {"https://app.example"},
		"Referer":                       {"https://app.example/login"},
		"X-Session-Token":               {"tok"},
		"Content-Type":                  {"application/x-www-form-urlencoded"},
		"Cookie":                        {"app_session=APPSECRET; ory_kratos_session=s1; csrf_token_8e2=c1", "theme=dark; ory_session_slug=s2; __Host-csrf_token_9=c2; ory_kratos_continuity=k"},
		"Authorization":                 {"Bearer APPTOKEN"},
		"X-Forwarded-Host":              {"evil.example"},
		"X-Forwarded-Proto":             {"http"},
		"X-Forwarded-For":               {"203.0.113.9"},
		"Forwarded":                     {"host=evil.example"},
		"Ory-Base-Url-Rewrite":          {"https://evil.example"},
		"Ory-Base-Url-Rewrite-Token":    {"stolen"},
		"Ory-No-Custom-Domain-Redirect": {"false"},
		"Ory-Anything":                  {"x"},
		"Connection":                    {"X-Custom"},
		"Te":                            {"trailers"},
		"X-Custom":                      {"app"},
		"X-Csrf-Token":                  {"app-csrf"},
		"Accept-Encoding":               {"gzip, br"},
	}
	tests := []struct {
		name   string
		cfg    Config
		want   http.Header // exact values expected at Ory
		absent []string
	}{
		{
			name: "defaults",
			want: http.Header{
				"Accept":                        {"text/html"},
				"Accept-Language":               {"de"},
				"User-Agent":                    {"browser/1"},
				"Origin":                        {"https://app.example"},
				"Referer":                       {"https://app.example/login"},
				"X-Session-Token":               {"tok"},
				"Cookie":                        {"ory_kratos_session=s1; csrf_token_8e2=c1; ory_session_slug=s2; __Host-csrf_token_9=c2; ory_kratos_continuity=k"},
				"Accept-Encoding":               {"identity"},
				"Ory-Base-Url-Rewrite":          {"https://app.example/.ory"},
				"Ory-No-Custom-Domain-Redirect": {"true"},
			},
			absent: []string{"Authorization", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-For", "Forwarded",
				"Ory-Base-Url-Rewrite-Token", "Ory-Anything", "Te", "X-Custom", "X-Csrf-Token"},
		},
		{
			name: "configured extras",
			cfg:  Config{AllowHeaders: []string{"x-custom"}, Cookies: []string{"theme"}, ForwardAuthorization: true, APIKey: "ory_pat_KEY"},
			want: http.Header{
				"X-Custom":                   {"app"},
				"Authorization":              {"Bearer APPTOKEN"},
				"Cookie":                     {"ory_kratos_session=s1; csrf_token_8e2=c1; theme=dark; ory_session_slug=s2; __Host-csrf_token_9=c2; ory_kratos_continuity=k"},
				"Ory-Base-Url-Rewrite":       {"https://app.example/.ory"},
				"Ory-Base-Url-Rewrite-Token": {"ory_pat_KEY"},
			},
			absent: []string{"X-Forwarded-Host", "Ory-Anything", "X-Csrf-Token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOry(t, nil)
			p, _ := newProxy(t, f, tt.cfg)
			r := httptestRequest("POST", "/.ory/self-service/login?flow=1", strings.NewReader("a=b"), hostile)
			r.Host = "evil.example"
			w := newRecorder()
			p.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			got := f.requests()
			if len(got) != 1 {
				t.Fatalf("Ory saw %d requests", len(got))
			}
			s := got[0]
			if want := strings.TrimPrefix(f.URL, "http://"); s.Host != want {
				t.Errorf("Host at Ory %q, want %q", s.Host, want)
			}
			if s.Body != "a=b" {
				t.Errorf("body at Ory %q", s.Body)
			}
			for name, want := range tt.want {
				if g := s.Header[name]; strings.Join(g, "|") != strings.Join(want, "|") {
					t.Errorf("%s at Ory = %q, want %q", name, g, want)
				}
			}
			for _, name := range tt.absent {
				if g, ok := s.Header[name]; ok {
					t.Errorf("%s reached Ory: %q", name, g)
				}
			}
			if strings.Contains(strings.Join(s.Header["Cookie"], ""), "APPSECRET") {
				t.Errorf("the app's cookie reached Ory")
			}
		})
	}
}

// TestForgedHostChangesNothing: the response to the same request is the
// same byte for byte whatever Host and X-Forwarded-* say.
func TestForgedHostChangesNothing(t *testing.T) {
	var f *fakeOry
	f = newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Add("Set-Cookie", "csrf_token_1=c; Path=/; Domain="+r.Host+"; HttpOnly")
		w.Header().Set("Location", f.URL+"/ui/login?flow=1")
		w.WriteHeader(http.StatusSeeOther)
		_, _ = io.WriteString(w, `<a href="`+f.URL+`/self-service/login?flow=1">`)
	})
	p, _ := newProxy(t, f, Config{})
	serve := func(h http.Header, host string) string {
		r := httptestRequest("GET", "/.ory/self-service/login/browser", nil, h)
		if host != "" {
			r.Host = host
		}
		w := newRecorder()
		p.ServeHTTP(w, r)
		var b bytes.Buffer
		_ = w.Result().Write(&b)
		return b.String()
	}
	plain := serve(nil, "")
	if !strings.Contains(plain, "https://app.example/.ory/ui/login?flow=1") || !strings.Contains(plain, `href="https://app.example/.ory/self-service/login?flow=1"`) {
		t.Fatalf("not rewritten onto the app:\n%s", plain)
	}
	forged := serve(http.Header{"X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"http"}, "Forwarded": {"host=evil.example;proto=http"}}, "evil.example:666")
	if forged != plain {
		t.Fatalf("a forged Host changed the answer:\n%s\nvs\n%s", forged, plain)
	}
}

func TestSetCookie(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		in   []string
		want []string
	}{
		{
			name: "host-only, Secure off on http",
			cfg:  Config{AppURL: "http://localhost:8080"},
			in:   []string{"ory_kratos_session=abc; Path=/; Domain=127.0.0.1; Max-Age=86400; HttpOnly; Secure; SameSite=Lax"},
			want: []string{"ory_kratos_session=abc; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"},
		},
		{
			name: "SameSite=None becomes Lax on http",
			cfg:  Config{AppURL: "http://localhost:8080"},
			in:   []string{"ory_session_slug=abc; Path=/; Domain=slug.projects.oryapis.com; HttpOnly; Secure; SameSite=None"},
			want: []string{"ory_session_slug=abc; Path=/; HttpOnly; SameSite=Lax"},
		},
		{
			name: "Secure and SameSite=None kept on https",
			cfg:  Config{AppURL: "https://app.example"},
			in:   []string{"ory_session_slug=abc; Path=/; Domain=slug.projects.oryapis.com; HttpOnly; SameSite=None"},
			want: []string{"ory_session_slug=abc; Path=/; HttpOnly; Secure; SameSite=None"},
		},
		{
			name: "configured cookie domain",
			cfg:  Config{AppURL: "https://www.app.example", CookieDomain: ".app.example"},
			in:   []string{"csrf_token_82=c; Path=/; Domain=ory.example; HttpOnly; SameSite=Lax"},
			want: []string{"csrf_token_82=c; Path=/; Domain=app.example; HttpOnly; Secure; SameSite=Lax"},
		},
		{
			name: "other cookies dropped, Ory's kept in order",
			cfg:  Config{AppURL: "https://app.example"},
			in: []string{
				"__cf_bm=x; Path=/; Domain=.oryapis.com; HttpOnly; Secure",
				"ory_kratos_continuity=k; Path=/; Max-Age=0",
				"app_session=evil; Path=/",
				"__Host-ory_session_slug=s; Path=/; Secure",
				"not a cookie",
			},
			want: []string{"ory_kratos_continuity=k; Path=/; Max-Age=0; Secure", "__Host-ory_session_slug=s; Path=/; Secure"},
		},
		{
			name: "configured extra cookie",
			cfg:  Config{AppURL: "https://app.example", Cookies: []string{"ory_ac_*"}},
			in:   []string{"ory_ac_state=z; Path=/ui"},
			want: []string{"ory_ac_state=z; Path=/ui; Secure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.OryURL = "https://ory.example"
			s, err := tt.cfg.settings()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := s.setCookies(tt.in, time.Now())
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestClearsSession(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want bool
	}{
		{"ory_kratos_session=; Path=/; Max-Age=0", true},
		{"ory_kratos_session=x; Path=/; Max-Age=-1", true},
		{"ory_session_slug=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT", true},
		{"ory_kratos_session=x; Path=/; Max-Age=3600", false},
		{"csrf_token_1=; Path=/; Max-Age=0", false},
		{"ory_kratos_continuity=; Path=/; Max-Age=0", false},
	}
	s, err := (&Config{OryURL: "https://ory.example", AppURL: "https://app.example"}).settings()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if _, got := s.setCookies([]string{tt.in}, now); got != tt.want {
			t.Errorf("%q clears the session: %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLocation(t *testing.T) {
	req, _ := url.Parse("https://ory.example/self-service/login/browser?x=1")
	tests := []struct {
		name string
		cfg  Config
		in   string
		want string
	}{
		{"Ory's origin", Config{}, "https://ory.example/ui/login?flow=1", "https://app.example/.ory/ui/login?flow=1"},
		{"relative", Config{}, "/self-service/login?flow=1", "https://app.example/.ory/self-service/login?flow=1"},
		{"relative to the path", Config{}, "../settings/browser", "https://app.example/.ory/self-service/settings/browser"},
		{"default port", Config{}, "https://ory.example:443/ui/welcome", "https://app.example/.ory/ui/welcome"},
		{"case", Config{}, "HTTPS://ORY.EXAMPLE/ui/welcome#top", "https://app.example/.ory/ui/welcome#top"},
		{"Ory's root", Config{}, "https://ory.example", "https://app.example/.ory/"},
		{"at the root", Config{AtRoot: true}, "https://ory.example/ui/login", "https://app.example/ui/login"},
		{"userinfo trick", Config{}, "https://ory.example@evil.example/ui/login", "https://ory.example@evil.example/ui/login"},
		{"userinfo on Ory", Config{}, "https://evil@ory.example/ui/login", "https://evil@ory.example/ui/login"},
		{"third party", Config{}, "https://evil.example/ui/login", "https://evil.example/ui/login"},
		{"look-alike host", Config{}, "https://ory.example.evil.example/x", "https://ory.example.evil.example/x"},
		{"other scheme", Config{}, "http://ory.example/ui/login", "http://ory.example/ui/login"},
		{"other port", Config{}, "https://ory.example:8443/ui/login", "https://ory.example:8443/ui/login"},
		{"scheme-relative third party", Config{}, "//evil.example/x", "//evil.example/x"},
		{"the app's UI", Config{}, "http://127.0.0.1:4455/login?flow=1", "http://127.0.0.1:4455/login?flow=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.OryURL, tt.cfg.AppURL = "https://ory.example", "https://app.example"
			s, err := tt.cfg.settings()
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.location(tt.in, req)
			if err != nil || got != tt.want {
				t.Fatalf("location(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}

	// Ory below a path: only locations below it are Ory's.
	s, err := (&Config{OryURL: "https://ory.example/kratos", AppURL: "https://app.example"}).settings()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://ory.example/kratos/ui/login": "https://app.example/.ory/ui/login",
		"https://ory.example/kratosx/a":       "https://ory.example/kratosx/a",
		"https://ory.example/other":           "https://ory.example/other",
	} {
		if got, _ := s.location(in, req); got != want {
			t.Errorf("below a path: location(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBodyRewrite(t *testing.T) {
	s, err := (&Config{OryURL: "https://ory.example", AppURL: "http://localhost:8080"}).settings()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{`<form action="https://ory.example/self-service/login?flow=1">`, `<form action="http://localhost:8080/.ory/self-service/login?flow=1">`},
		{`{"action":"https://ory.example/self-service/login?flow=1"}`, `{"action":"http://localhost:8080/.ory/self-service/login?flow=1"}`},
		{`{"url":"https:\/\/ory.example\/ui\/login"}`, `{"url":"http:\/\/localhost:8080\/.ory\/ui\/login"}`},
		{`"https://ory.example"`, `"http://localhost:8080/.ory"`},
		{`https://ory.example`, `http://localhost:8080/.ory`},
		{`https://ory.example.evil.example/x https://ory.example@evil.example https://ory.example:8443/ https://ory.examples/`,
			`https://ory.example.evil.example/x https://ory.example@evil.example https://ory.example:8443/ https://ory.examples/`},
		{`a https://ory.example/x b https://ory.example?y`, `a http://localhost:8080/.ory/x b http://localhost:8080/.ory?y`},
		{`no URL here`, `no URL here`},
	}
	for _, tt := range tests {
		if got := string(s.body([]byte(tt.in))); got != tt.want {
			t.Errorf("body(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestRewritable(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8":          true,
		"application/json":                  true,
		"application/problem+json":          true,
		"text/javascript":                   true,
		"application/javascript":            true,
		"image/svg+xml":                     true,
		"image/png":                         false,
		"application/octet-stream":          false,
		"font/woff2":                        false,
		"":                                  false,
		"text/html; charset=\"unterminated": false,
	} {
		if got := rewritable(ct); got != want {
			t.Errorf("rewritable(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestResponses: bodies, encodings and headers as they reach the browser.
func TestResponses(t *testing.T) {
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = io.WriteString(zw, s)
		_ = zw.Close()
		return b.String()
	}
	png := "\x89PNG\r\nORYBASE/ui"
	// ORYBASE and ORYESC stand for the fake's URL, plain and JSON-escaped,
	// in body and wantBody; zip makes the fake gzip the body.
	tests := []struct {
		name        string
		cfg         Config
		ct, ce      string
		body        string
		zip         bool
		status      int
		wantBody    string
		wantCE      string
		wantLogLine bool
	}{
		{name: "html", ct: "text/html; charset=utf-8", body: `<a href="ORYBASE/ui/login">`, status: 200,
			wantBody: `<a href="https://app.example/.ory/ui/login">`},
		{name: "json escaped", ct: "application/json", body: `{"u":"ORYESC\/self-service\/login"}`, status: 200,
			wantBody: `{"u":"https:\/\/app.example\/.ory\/self-service\/login"}`},
		{name: "gzip decoded and rewritten", ct: "text/html", ce: "gzip", zip: true, body: `<a href="ORYBASE/ui">`, status: 200,
			wantBody: `<a href="https://app.example/.ory/ui">`},
		{name: "corrupt gzip", ct: "text/html", ce: "gzip", body: "not gzip", status: 502, wantLogLine: true},
		{name: "brotli cannot be rewritten", ct: "text/html", ce: "br", body: "xx", status: 502, wantLogLine: true},
		{name: "binary streamed untouched", ct: "image/png", body: png, status: 200, wantBody: png},
		{name: "binary keeps its encoding", ct: "font/woff2", ce: "gzip", zip: true, body: "font", status: 200, wantBody: gz("font"), wantCE: "gzip"},
		{name: "rewritable over the cap", cfg: Config{MaxRewriteBytes: 64}, ct: "text/html", body: strings.Repeat("a", 65), status: 502, wantLogLine: true},
		{name: "rewritable at the cap", cfg: Config{MaxRewriteBytes: 64}, ct: "text/html", body: strings.Repeat("a", 64), status: 200, wantBody: strings.Repeat("a", 64)},
		{name: "binary over the cap streams", cfg: Config{MaxRewriteBytes: 64}, ct: "image/png", body: strings.Repeat("b", 1000), status: 200, wantBody: strings.Repeat("b", 1000)},
		{name: "gzip bomb over the cap", cfg: Config{MaxRewriteBytes: 1 << 10}, ct: "text/html", ce: "gzip", zip: true, body: strings.Repeat("a", 1<<20), status: 502, wantLogLine: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fakeOry
			sub := func(s string) string {
				s = strings.ReplaceAll(s, "ORYBASE", f.URL)
				return strings.ReplaceAll(s, "ORYESC", strings.ReplaceAll(f.URL, "/", `\/`))
			}
			f = newFakeOry(t, func(w http.ResponseWriter, _ *http.Request) {
				b := sub(tt.body)
				if tt.zip {
					b = gz(b)
				}
				w.Header().Set("Content-Type", tt.ct)
				if tt.ce != "" {
					w.Header().Set("Content-Encoding", tt.ce)
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				_, _ = io.WriteString(w, b)
			})
			p, logs := newProxy(t, f, tt.cfg)
			w := do(p, "GET", "/.ory/ui/login", nil, nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := logs.lines(); (got == 1) != tt.wantLogLine || got > 1 {
				t.Errorf("%d log lines, want one: %v\n%s", got, tt.wantLogLine, logs)
			}
			if tt.status != 200 {
				if w.Header().Get("Content-Encoding") != "" || strings.Contains(w.Body.String(), "aaaa") {
					t.Errorf("a refused body leaked: %q %q", w.Header(), w.Body)
				}
				return
			}
			want := sub(tt.wantBody)
			if w.Body.String() != want {
				t.Errorf("body %q, want %q", w.Body, want)
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				t.Errorf("Content-Length %q for %d bytes", cl, len(want))
			}
			if ce := w.Header().Get("Content-Encoding"); ce != tt.wantCE {
				t.Errorf("Content-Encoding %q, want %q", ce, tt.wantCE)
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	f := newFakeOry(t, func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
		h.Set("Alt-Svc", `h3=":443"`)
		h.Set("Nel", `{"report_to":"cf-nel"}`)
		h.Set("Report-To", `{"group":"cf-nel"}`)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Cache-Control", "public, max-age=600")
		h.Set("Etag", `"abc"`)
		h.Set("Vary", "Origin")
		h.Set("Server", "cloudflare")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Retry-After", "3")
		h.Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	})
	p, _ := newProxy(t, f, Config{})
	for _, target := range []string{"/.ory/sessions/whoami", "/.ory/admin/identities"} {
		w := do(p, "GET", target, nil, nil)
		h := w.Header()
		if h.Get("Cache-Control") != "private, no-store" || strings.Join(h.Values("Cache-Control"), ",") != "private, no-store" {
			t.Errorf("%s: Cache-Control %q", target, h.Values("Cache-Control"))
		}
		if strings.Join(h.Values("Vary"), ",") != "Cookie" {
			t.Errorf("%s: Vary %q", target, h.Values("Vary"))
		}
		for _, name := range []string{"Strict-Transport-Security", "Alt-Svc", "Nel", "Report-To", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Etag", "Server"} {
			if v := h.Get(name); v != "" {
				t.Errorf("%s: %s passed back: %q", target, name, v)
			}
		}
		if target == "/.ory/sessions/whoami" && (h.Get("X-Frame-Options") != "DENY" || h.Get("Retry-After") != "3") {
			t.Errorf("allowed headers lost: %q", h)
		}
	}
}

// TestMisbehavingUpstream: responses no real server sends are refused.
func TestMisbehavingUpstream(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{"CR LF in a value", http.Header{"Location": {"https://ory.example/ui\r\nSet-Cookie: app_session=evil"}}},
		{"LF in a Set-Cookie", http.Header{"Set-Cookie": {"ory_kratos_session=a\nSet-Cookie: x=y"}}},
		{"NUL in a value", http.Header{"Content-Type": {"text/html\x00"}}},
		{"CR in a name", http.Header{"X-A\r\nSet-Cookie": {"x"}}},
		{"two Locations", http.Header{"Location": {"https://ory.example/ui/login", "https://evil.example/"}}},
		{"unparseable Location", http.Header{"Location": {"https://ory.example:port/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 303, Header: tt.header, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			})
			p, logs := newProxy(t, nil, Config{OryURL: "https://ory.example", Transport: rt})
			w := do(p, "GET", "/.ory/self-service/login/browser", nil, nil)
			if w.Code != http.StatusBadGateway {
				t.Fatalf("status %d, want 502", w.Code)
			}
			if w.Header().Get("Location") != "" || len(w.Header().Values("Set-Cookie")) != 0 {
				t.Errorf("headers passed on: %q", w.Header())
			}
			if logs.lines() != 1 {
				t.Errorf("want one log line:\n%s", logs)
			}
		})
	}
}

func TestNeverFollowsRedirects(t *testing.T) {
	var f *fakeOry
	f = newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.URL+"/self-service/login/browser", http.StatusSeeOther)
	})
	p, _ := newProxy(t, f, Config{})
	w := do(p, "GET", "/.ory/self-service/registration/browser", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://app.example/.ory/self-service/login/browser" {
		t.Fatalf("got %d %q", w.Code, w.Header().Get("Location"))
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("Ory was asked %d times", n)
	}
}

func TestRequestBodyCap(t *testing.T) {
	tests := []struct {
		name    string
		body    io.Reader
		status  int
		reached bool
	}{
		{"under the cap", strings.NewReader(strings.Repeat("a", 100)), 200, true},
		{"over the cap", strings.NewReader(strings.Repeat("a", 101)), 413, false},
		{"over the cap, length unknown", io.MultiReader(strings.NewReader(strings.Repeat("a", 101))), 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOry(t, nil)
			p, _ := newProxy(t, f, Config{MaxBodyBytes: 100})
			r := httptestRequest("POST", "/.ory/self-service/login?flow=1", tt.body, nil)
			if _, ok := tt.body.(*strings.Reader); !ok {
				r.ContentLength = -1
			}
			w := newRecorder()
			p.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := len(f.requests()) == 1; got != tt.reached {
				t.Fatalf("reached Ory: %v, want %v", got, tt.reached)
			}
		})
	}
}

// TestOryFailures: Ory down is 502, Ory slow is 504, within the timeout,
// with one log line holding no query, cookie or key.
func TestOryFailures(t *testing.T) {
	down := newFakeOry(t, nil)
	downURL := down.URL
	down.Close()
	slow := newFakeOry(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	slowBody := newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "<p>")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	tests := []struct {
		name   string
		ory    string
		status int
	}{
		{"down", downURL, http.StatusBadGateway},
		{"slow headers", slow.URL, http.StatusGatewayTimeout},
		{"slow body", slowBody.URL, http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, logs := newProxy(t, nil, Config{OryURL: tt.ory, Timeout: 200 * time.Millisecond, APIKey: "ory_pat_SECRETKEY"})
			start := time.Now()
			w := do(p, "GET", "/.ory/self-service/logout?token=LOGOUTTOKEN", nil,
				http.Header{"Cookie": {"ory_kratos_session=SESSIONCOOKIE"}})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			log := logs.String()
			if logs.lines() != 1 {
				t.Errorf("want one log line:\n%s", log)
			}
			for _, secret := range []string{"LOGOUTTOKEN", "SESSIONCOOKIE", "SECRETKEY"} {
				if strings.Contains(log, secret) {
					t.Errorf("log holds %s:\n%s", secret, log)
				}
			}
		})
	}
}

// TestBrowserGone: a browser that leaves is not an Ory failure.
func TestBrowserGone(t *testing.T) {
	f := newFakeOry(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	p, logs := newProxy(t, f, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	r := httptestRequest("GET", "/.ory/sessions/whoami", nil, nil).WithContext(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	w := newRecorder()
	p.ServeHTTP(w, r)
	if logs.lines() != 0 {
		t.Fatalf("logged a browser leaving:\n%s", logs)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("the request was not cancelled")
	}
}

// TestHead: a HEAD answer carries no body, and no length for a body the
// proxy would have rewritten.
func TestHead(t *testing.T) {
	tests := []struct {
		ct, wantLength string
	}{
		{"text/html", ""},
		{"image/png", "6"},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			f := newFakeOry(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.ct)
				w.Header().Set("Content-Length", "6")
			})
			p, _ := newProxy(t, f, Config{})
			w := do(p, "HEAD", "/.ory/ui/login", nil, nil)
			if w.Code != 200 || w.Body.Len() != 0 {
				t.Fatalf("HEAD: %d with %d bytes", w.Code, w.Body.Len())
			}
			if got := w.Header().Get("Content-Length"); got != tt.wantLength {
				t.Errorf("Content-Length %q, want %q", got, tt.wantLength)
			}
		})
	}
}
