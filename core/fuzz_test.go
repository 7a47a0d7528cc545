package core

// Fuzz tests for the three places where the guard reads input it does not
// control: the request's credential headers (FuzzExtract), the request
// target and client-supplied return_to values (FuzzReturnTo), and Ory's
// whoami answer (FuzzWhoami). Seed corpora are in testdata/fuzz/<name>/ and
// in the f.Add calls; `go test` runs the seeds, `make fuzz` fuzzes each
// target for a bounded time.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// isToken reports whether s is an RFC 9110 token, the syntax of a cookie
// name (RFC 6265): what Kratos, parsing the Cookie header the guard
// forwards with net/http, accepts as a name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether net/http's client would send v as a
// header value (no control bytes other than tab).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func FuzzExtract(f *testing.F) {
	long := strings.Repeat("a", MaxCredentialLength)
	for _, s := range [][4]string{
		{"", "", "ory_kratos_session=MTY5ODc2NTQzMnxEdi1CQkFFQ180SUFBUkFCRUFBQVJfLUNBQUVHYzNSeWFXNW5EQThBRFhObGMzTnBiMjVmZEc5clpXNEdjM1J5YVc1bkRDSUFJRXBG", ""},
		{"ory_st_abcdef0123456789", "", "", ""},
		{"", "Bearer ory_st_abcdef", "", ""},
		{"", "bEaReR   tok  ", "theme=dark", ""},
		{"", "Basic Zm9vOmJhcg==", "", ""},
		{"  ", "Bearer good", "", ""},
		{"", "", `_ga=GA1.2.3; ory_kratos_session="quoted"; csrf_token_x=y`, "app=1"},
		{"", "", "ory_kratos_session=a; ory_kratos_session=b", ""},
		{"", "", "ory_kratos_session=a", "ory_kratos_session=a"},
		{"", "", "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1", ""},
		{"", "", "ory_session_=1; ory_session_slug=2", ""},
		{"", "", "ory_kratos_session=" + long, ""},
		{"", "", "ory_kratos_session=" + long + "a", ""},
		{"", "", "ory_kratos_session=caf\xc3\xa9", ""},
		{"", "", "ory_kratos_session=\xff\xfe", ""},
		{"tok\x00en", "", "", ""},
		{"", "", "ory_kratos_session=a\r\nX-Injected: 1", ""},
		{"", "", "ory_session_a b=val", ""},
		{"", "", "ory_session_a\x01b=val", ""},
		{"", "", ";;;===;; ory_kratos_session ; =x", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	m := newCookieMatcher(nil)
	f.Fuzz(func(t *testing.T, token, authorization, cookie1, cookie2 string) {
		r := &Request{SessionToken: token, Authorization: authorization}
		for _, c := range []string{cookie1, cookie2} {
			if c != "" {
				r.Cookies = append(r.Cookies, c)
			}
		}
		var c credential
		m.extract(r, &c)

		switch c.kind {
		case credToken, credBearer:
			if !validToken(c.token) || len(c.token) > MaxCredentialLength {
				t.Fatalf("token %q is not a valid token", c.token)
			}
			if c.kind == credToken && c.token != strings.TrimSpace(token) ||
				c.kind == credBearer && !strings.Contains(authorization, c.token) {
				t.Fatalf("token %q does not come from its header", c.token)
			}
		case credCookie:
			if c.n < 1 || c.size > MaxForwardedCookieBytes {
				t.Fatalf("%d session cookies, %d bytes", c.n, c.size)
			}
			seen := map[cookiePair]bool{}
			for i := range c.n {
				p := c.pair(i)
				if !m.match(p.name) || p.value == "" || len(p.value) > MaxCredentialLength || seen[p] {
					t.Fatalf("picked cookie %q=%q (repeated %v)", p.name, p.value, seen[p])
				}
				seen[p] = true
			}
			fwd, ok := c.forward()
			if !ok {
				break // never sent to Ory (session() checks forward() first)
			}
			for i := range fwd.n {
				p := fwd.pair(i)
				if !validCookieValue(p.value) {
					t.Fatalf("would send the cookie value %q to Ory", p.value)
				}
				// A name Kratos cannot parse cannot carry a session: asking
				// Ory about it is a wasted call (or, with a control byte, a
				// request net/http refuses to send: a 502 for a bad cookie).
				if !isToken(p.name) {
					t.Fatalf("would send a cookie whose name %q is not a token to Ory", p.name)
				}
			}
			h := fwd.cookieHeader()
			if len(h) != fwd.size {
				t.Fatalf("Cookie header of %d bytes, credential counted %d", len(h), fwd.size)
			}
			if !validHeaderValue(h) {
				t.Fatalf("Cookie header for Ory %q", h)
			}
			// What Kratos reads back from the header is what was picked, in
			// order.
			parsed, err := http.ParseCookie(h)
			if err != nil || len(parsed) != fwd.n {
				t.Fatalf("Kratos would read %v (%v) from %q", parsed, err, h)
			}
			for i, p := range parsed {
				if q := fwd.pair(i); p.Name != q.name || p.Value != q.value {
					t.Fatalf("Kratos would read %s=%s, guard picked %s=%s", p.Name, p.Value, q.name, q.value)
				}
			}
		case credNone, credInvalid:
		default:
			t.Fatalf("kind %d", c.kind)
		}
		// Kratos' order: a token header always decides.
		if token != "" && c.kind != credToken && c.kind != credInvalid {
			t.Fatalf("X-Session-Token present, credential kind %d", c.kind)
		}
		// Other cookies, in their own header, change nothing.
		r2 := *r
		r2.Cookies = append(append([]string{"theme=dark; _ga=GA1.2.3"}, r.Cookies...), "csrf_token_1=x")
		var c2 credential
		m.extract(&r2, &c2)
		if !reflect.DeepEqual(c2, c) {
			t.Fatalf("unrelated cookies changed the credential: %+v vs %+v", c2, c)
		}
		// The same headers read lazily from a raw header (RequestFromRaw,
		// the Fiber adapters) give the same credential.
		raw := fuzzRaw{"X-Session-Token": {token}, "Authorization": {authorization}, "Cookie": r.Cookies}
		r3 := RequestFromRaw(raw, nil)
		var c3 credential
		m.extract(&r3, &c3)
		if !reflect.DeepEqual(c3, c) {
			t.Fatalf("RequestFromRaw gave another credential: %+v vs %+v", c3, c)
		}
	})
}

// fuzzRaw is a RawHeader over a map of header values, as fasthttp hands
// them out (a header present with an empty value reads as absent).
type fuzzRaw map[string][]string

func (fuzzRaw) Method() []byte     { return []byte(http.MethodGet) }
func (fuzzRaw) RequestURI() []byte { return []byte("/") }
func (h fuzzRaw) Peek(k string) []byte {
	if vs := h[k]; len(vs) > 0 {
		return []byte(vs[0])
	}
	return nil
}

func (h fuzzRaw) PeekAll(k string) [][]byte {
	var out [][]byte
	for _, v := range h[k] {
		out = append(out, []byte(v))
	}
	return out
}

// leadsToApp reports why rt could lead a browser anywhere but the app
// (empty when it cannot). app is "" (relative return_to) or the app's base
// URL without a trailing slash.
func leadsToApp(rt, app string) string {
	for i := 0; i < len(rt); i++ {
		if c := rt[i]; c < ' ' || c == 0x7f || c == '\\' {
			return fmt.Sprintf("control byte or backslash %q", c)
		}
	}
	u, err := url.Parse(rt)
	if err != nil {
		return "does not parse: " + err.Error()
	}
	if u.User != nil || u.Opaque != "" {
		return "user info or opaque URL"
	}
	if app == "" {
		if !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") || u.Scheme != "" || u.Host != "" {
			return "not a same-origin path"
		}
		// Decoded, the path must not turn into //host or /\host either.
		if len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
			return "path decodes to a network path"
		}
		base, _ := url.Parse("https://app.example/some/page")
		if got := base.ResolveReference(u); got.Host != "app.example" {
			return "resolves to host " + got.Host
		}
		return ""
	}
	a, _ := url.Parse(app)
	if u.Scheme != a.Scheme || u.Host != a.Host || !strings.HasPrefix(rt, a.Scheme+"://"+a.Host+"/") {
		return "not on the app's origin"
	}
	if a.Path != "" && a.Path != "/" {
		// Resolved as a browser does (%2e is a dot), the path stays within
		// the app's path prefix.
		dots, err := url.Parse(strings.NewReplacer("%2e", ".", "%2E", ".").Replace(u.EscapedPath()))
		if err == nil {
			if res := a.ResolveReference(dots); res.Path != a.Path && !strings.HasPrefix(res.Path, a.Path+"/") {
				return "resolves outside the app's path prefix, to " + res.Path
			}
		}
	}
	if len(u.Path) > 1 && (u.Path[1] == '/' || u.Path[1] == '\\') {
		return "path decodes to a network path"
	}
	return ""
}

func FuzzReturnTo(f *testing.F) {
	for _, s := range [][2]string{
		{"/dashboard?x=1", "/settings?tab=2"},
		{"//evil.example", "//evil.example"},
		{`/\evil.example`, `/\evil.example`},
		{"/%2F%2Fevil.example", "https://evil.example/x"},
		{"/%5C%5Cevil.example/", "https://app.example@evil.example/"},
		{"/%09/evil.example", "https:evil.example"},
		{"/x\r\nLocation: http://evil.example", "/x\r\nSet-Cookie: a=b"},
		{"http://evil.example/path?q=1", "HTTPS://APP.EXAMPLE/x"},
		{"https://user:pass@evil.example/", "javascript:alert(1)"},
		{"/ok?next=//evil.example#frag", "/ok?x=\\y#z"},
		{"*", "settings"},
		{"/a%20b/%E2%82%AC?q=%ZZ", "/%zz"},
		{"/.//evil.example", "/..//evil.example"},
		{"/@evil.example", "https://app.example:443/x"},
		{"/../other", "https://app.example/other"},
		{"/base/%2e%2e/x", "https://app.example/base/.%2E/x"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	var guards []*Guard
	for _, app := range []string{"", "https://app.example", "https://app.example/base"} {
		g, err := New(Config{OryURL: "https://ory.example", AppURL: app})
		if err != nil {
			f.Fatal(err)
		}
		guards = append(guards, g)
	}
	f.Fuzz(func(t *testing.T, target, raw string) {
		for _, g := range guards {
			rt := g.ReturnTo(&Request{URI: target})
			if why := leadsToApp(rt, g.app); why != "" {
				t.Fatalf("AppURL %q: ReturnTo(%q) = %q: %s", g.app, target, rt, why)
			}
			if g.app != "" && !strings.HasPrefix(rt, g.app+"/") {
				t.Fatalf("AppURL %q: ReturnTo(%q) = %q is outside the app's base", g.app, target, rt)
			}
			// The login redirect carries exactly that return_to, on Ory.
			d := g.Route().Authenticate(context.Background(), &Request{URI: target, Accept: "text/html"})
			loc, err := url.Parse(d.Header.Get("Location"))
			if d.Status != http.StatusSeeOther || err != nil || loc.Host != "ory.example" || loc.Query().Get("return_to") != rt {
				t.Fatalf("login redirect for %q: %d %v", target, d.Status, d.Header)
			}

			safe := g.SafeReturnTo(raw)
			origin := ""
			if g.appURL != nil {
				origin = g.appURL.Scheme + "://" + g.appURL.Host
			}
			if why := leadsToApp(safe, origin); why != "" {
				t.Fatalf("AppURL %q: SafeReturnTo(%q) = %q: %s", g.app, raw, safe, why)
			}
			for _, u := range []string{g.LoginURL(raw), g.RefreshURL(raw), g.StepUpURL(raw)} {
				pu, err := url.Parse(u)
				if err != nil || pu.Host != "ory.example" || pu.Query().Get("return_to") != safe {
					t.Fatalf("flow URL %q for %q", u, raw)
				}
			}
		}
	})
}

// fakeOry is an http.RoundTripper that answers every request with one
// canned response, without a network.
type fakeOry struct {
	status int
	header http.Header
	body   []byte
	calls  atomic.Int32
}

func (f *fakeOry) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	return &http.Response{
		StatusCode: f.status, Status: strconv.Itoa(f.status) + " " + http.StatusText(f.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: f.header.Clone(), Body: io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: int64(len(f.body)), Request: r,
	}, nil
}

// lineCounter counts log lines.
type lineCounter struct{ n atomic.Int32 }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n.Add(int32(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

func FuzzWhoami(f *testing.F) {
	now := time.Now().UTC()
	valid := fmt.Sprintf(`{"id":"s1","active":true,"expires_at":%q,"authenticated_at":%q,"authenticator_assurance_level":"aal1","identity":{"id":"i1","schema_id":"default","schema_url":"x","state":"active","traits":{"email":"a@example.com"}}}`,
		now.Add(time.Hour).Format(time.RFC3339Nano), now.Add(-time.Minute).Format(time.RFC3339Nano))
	for _, s := range []struct {
		status   int
		ct, ra   string
		body     string
		setCooki string
	}{
		{200, "application/json", "", valid, ""},
		{200, "application/json; charset=utf-8", "", valid, "ory_kratos_session=new; Path=/; HttpOnly"},
		{200, "application/json", "", strings.Replace(valid, `"active":true`, `"active":false`, 1), ""},
		{200, "application/json", "", strings.Replace(valid, `"state":"active"`, `"state":"inactive"`, 1), ""},
		{200, "application/json", "", `{"id":"s1","active":true,"expires_at":"2001-01-01T00:00:00Z"}`, ""},
		{200, "application/json", "", `{"id":"s1","active":true}`, ""},
		{200, "application/json", "", `{"active":true}`, ""},
		{200, "application/json", "", `null`, ""},
		{200, "application/json", "", `[]`, ""},
		{200, "application/json", "", `{"id": 12, not json`, ""},
		{200, "application/json", "", ``, ""},
		{200, "application/json", "", `{"id":"s1","active":"yes","expires_at":12}`, ""},
		{200, "text/html", "", `<html>login</html>`, ""},
		{200, "application/xml", "", `<Session><Id>s1</Id><Active>true</Active><ExpiresAt>2099-01-01T00:00:00Z</ExpiresAt></Session>`, ""},
		{200, "application/json", "", `{"id":"s1","active":true,"expires_at":"2999-01-01T00:00:00Z"}`, ""},
		{200, "", "", valid, ""},
		{401, "application/json", "", `{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request."}}`, ""},
		{401, "text/plain", "", `nope`, ""},
		{403, "application/json", "", `{"error":{"id":"session_aal2_required","code":403},"redirect_browser_to":"https://ory.test/self-service/login/browser?aal=aal2"}`, ""},
		{403, "application/json", "", `{"error":{"id":"session_aal2_required","code":403,"details":{"redirect_browser_to":"http://ory.test/x"}}}`, ""},
		{403, "application/json", "", `{"error":{"id":"session_aal2_required"},"redirect_browser_to":"javascript:alert(1)"}`, ""},
		{403, "application/json", "", `{"error":{"id":"security_identity_mismatch"}}`, ""},
		{429, "application/json", "7", `{}`, ""},
		{429, "", "Wed, 21 Oct 2099 07:28:00 GMT", ``, ""},
		{429, "", "-5", ``, ""},
		{429, "", "99999999999999999999", ``, ""},
		{500, "application/json", "", `{"error":{"code":500}}`, ""},
		{502, "text/html", "", `<html>bad gateway</html>`, ""},
		{503, "", "30", `oops`, ""},
		{404, "text/plain", "", `404 page not found`, ""},
		{302, "", "", ``, ""},
		{204, "", "", ``, ""},
	} {
		f.Add(s.status, s.ct, s.ra, s.setCooki, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter, setCookie string, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if setCookie != "" {
			h.Set("Set-Cookie", setCookie)
		}
		for _, api := range []bool{false, true} {
			ory := &fakeOry{status: status, header: h, body: body}
			logs := &lineCounter{}
			g, err := New(Config{
				OryURL:     "http://ory.test",
				HTTPClient: &http.Client{Transport: ory},
				Logger:     slog.New(slog.NewTextHandler(logs, nil)),
				Cache:      CacheConfig{TTL: time.Minute},
			})
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{URI: "/page?x=1", Accept: "text/html", Cookies: []string{"ory_kratos_session=abc"}}
			if api {
				req = &Request{URI: "/page?x=1", SessionToken: "tok"}
			}
			d := g.Route().Authenticate(context.Background(), req)
			checkWhoamiDecision(t, g, status, api, d)
			wantLogs := int32(0)
			if !d.Allow && (d.Status == 429 || d.Status >= 500) {
				wantLogs = 1
			}
			if n := logs.n.Load(); n != wantLogs {
				t.Fatalf("Ory %d → %d: %d log lines, want %d", status, d.Status, n, wantLogs)
			}
			// An allowed session comes from the cache the second time; a 429
			// starts a backoff; anything else asks Ory again.
			d2 := g.Route().Authenticate(context.Background(), req)
			if d2.Allow != d.Allow || d2.Status != d.Status {
				t.Fatalf("same answer, different decisions: %d then %d", d.Status, d2.Status)
			}
			wantCalls := int32(2)
			if d.Allow || d.Status == 429 {
				wantCalls = 1
			}
			if n := ory.calls.Load(); n != wantCalls {
				t.Fatalf("Ory %d → %d: %d whoami calls for two requests, want %d", status, d.Status, n, wantCalls)
			}
		}
	})
}

// checkWhoamiDecision holds the guard's decision to the decision table.
func checkWhoamiDecision(t *testing.T, g *Guard, status int, api bool, d Decision) {
	t.Helper()
	if d.Allow {
		if status != 200 || d.Session == nil || d.Session.Id == "" || !usable(d.Session, time.Now()) {
			t.Fatalf("Ory %d: allowed with session %+v", status, d.Session)
		}
		for _, sc := range d.Header.Values("Set-Cookie") {
			name, _, _ := strings.Cut(sc, "=")
			if !g.cookies.match(strings.TrimSpace(name)) {
				t.Fatalf("passed on a foreign Set-Cookie %q", sc)
			}
		}
		return
	}
	loc := d.Header.Get("Location")
	login := g.ory + "/self-service/login/browser?"
	switch {
	case status == 401 || status == 200 && (d.Status == 303 || d.Status == 401):
		if api && d.Status != 401 || !api && (d.Status != 303 || !strings.HasPrefix(loc, login)) {
			t.Fatalf("Ory %d: %d Location %q, want the login answer", status, d.Status, loc)
		}
	case status == 200:
		if d.Status != 502 {
			t.Fatalf("Ory 200 with an unusable body: %d, want 502", d.Status)
		}
	case status == 403:
		if d.Status != 403 && (api || d.Status != 303) {
			t.Fatalf("Ory 403: %d", d.Status)
		}
		if loc != "" {
			u, err := url.Parse(loc)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Query().Get("return_to") != "/page?x=1" {
				t.Fatalf("Ory 403: Location %q", loc)
			}
		}
	case status == 429:
		ra, err := strconv.Atoi(d.Header.Get("Retry-After"))
		if d.Status != 429 || err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Ory 429: %d Retry-After %q", d.Status, d.Header.Get("Retry-After"))
		}
	default:
		if d.Status != 502 {
			t.Fatalf("Ory %d: %d, want 502", status, d.Status)
		}
	}
	if (d.Status == 429 || d.Status >= 500) && loc != "" {
		t.Fatalf("Ory %d: a failure redirected to %q", status, loc)
	}
	if api || d.Status != 303 {
		var v map[string]any
		if json.Unmarshal(d.Body, &v) != nil && api {
			t.Fatalf("API answer is not JSON: %q", d.Body)
		}
		if !api && !utf8.Valid(d.Body) {
			t.Fatalf("browser answer is not text: %q", d.Body)
		}
	}
}
