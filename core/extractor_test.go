package core_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestPlantedCookiesDoNotVeto: a sibling subdomain can plant cookies for
// the parent domain (cookie tossing). Whatever it plants beside the real
// session cookie, the guard forwards what Kratos would read (the first
// cookie of its exact name that it can decode, other names ignored) and
// never refuses the request itself: an empty ory_kratos_session= after the
// real one, or five ory_session_* cookies, must not make the guard answer
// "no session" without asking Ory (a login loop).
func TestPlantedCookiesDoNotVeto(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, logs := newGuard(t, ory.URL, nil)
	const ck = "ory_kratos_session="
	big := strings.Repeat("p", core.MaxCredentialLength)
	five := "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1"
	var many []string
	for i := range 40 {
		many = append(many, "ory_session_x"+strings.Repeat("y", i)+"=1")
	}
	for _, tc := range []struct {
		name    string
		cookies []string
		sent    string // the Cookie header Ory receives
	}{
		{"empty duplicate after the real one", []string{ck + "good; " + ck}, ck + "good"},
		{"empty duplicate before the real one", []string{ck + "; " + ck + "good"}, ck + "good"},
		{"quoted empty duplicate", []string{ck + `""; ` + ck + "good"}, ck + "good"},
		{"five ory_session_* next to it", []string{ck + "good; " + five}, ck + "good; " + five},
		{"five ory_session_* before it", []string{five + "; " + ck + "good"}, five + "; " + ck + "good"},
		{"forty ory_session_* before it", []string{strings.Join(many, "; ") + "; " + ck + "good"}, strings.Join(many, "; ") + "; " + ck + "good"},
		{"oversized duplicate before it (no browser stores one)", []string{ck + big + "x; " + ck + "good"}, ck + "good"},
		{"malformed duplicate before it", []string{ck + "caf\u00e9; " + ck + "good"}, ck + "good"},
		{"control byte in a planted one", []string{"ory_session_x=a\x01b; " + ck + "good"}, ck + "good"},
		{"malformed lone one then the real one in another header", []string{ck + "a b", ck + "good"}, ck + "good"},
		{"two full-size planted ones before it", []string{ck + big + "; " + ck + big[1:] + "q; " + ck + "good"}, ck + big + "; " + ck + big[1:] + "q; " + ck + "good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory.Reset()
			logs.Reset()
			d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", Accept: "text/html", Cookies: tc.cookies})
			if !d.Allow || d.Session.Id != "s1" {
				t.Fatalf("denied: %d %s", d.Status, d.Body)
			}
			rec := ory.Requests()
			if len(rec) != 1 || rec[0].Cookie != tc.sent {
				t.Fatalf("Ory received %+v\nwant Cookie %q", rec, tc.sent)
			}
			if logs.Len() != 0 {
				t.Fatalf("logged: %s", logs.String())
			}
		})
	}
}

// TestForwardedCookiesBounded: the Cookie header sent to Ory never exceeds
// MaxForwardedCookieBytes; session cookies beyond it are dropped (in
// order), not refused.
func TestForwardedCookiesBounded(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, _ := newGuard(t, ory.URL, nil)
	var parts []string
	for i := range 20 {
		parts = append(parts, "ory_kratos_session="+strings.Repeat(string(rune('a'+i)), core.MaxCredentialLength-10))
	}
	d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", Accept: "application/json", Cookies: []string{strings.Join(parts, "; ")}})
	if d.Allow || d.Status != http.StatusUnauthorized {
		t.Fatalf("got %d, want Ory's 401", d.Status)
	}
	rec := ory.Requests()
	if len(rec) != 1 {
		t.Fatalf("%d requests to Ory, want 1", len(rec))
	}
	got := rec[0].Cookie
	if len(got) > core.MaxForwardedCookieBytes || !strings.HasPrefix(strings.Join(parts, "; "), got) || strings.Count(got, "ory_kratos_session=") < 7 {
		t.Fatalf("forwarded %d bytes (%d cookies), want the first ones within %d bytes", len(got), strings.Count(got, "="), core.MaxForwardedCookieBytes)
	}
}

// manyCookies returns n unrelated cookies in one header value.
func manyCookies(n int, valueLen int) string {
	var b strings.Builder
	v := strings.Repeat("v", valueLen)
	for i := range n {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("app_cookie_")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString("=")
		b.WriteString(v)
	}
	return b.String()
}

// TestHostileCredentials: cookies and credential headers that cannot carry a
// valid Ory session get the plain unauthenticated answer (303 to login for
// a browser, 401 for an API client), never a panic, and Ory is not asked.
func TestHostileCredentials(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, logs := newGuard(t, ory.URL, nil)
	long := strings.Repeat("a", core.MaxCredentialLength+1)
	const ck = "ory_kratos_session="
	for _, tc := range []struct {
		name string
		req  *core.Request
	}{
		{"500 unrelated cookies", browser("/", manyCookies(500, 20))},
		{"100 Cookie headers, no session cookie", &core.Request{URI: "/", Cookies: strings.Split(strings.Repeat("a=b\n", 100), "\n")[:100]}},
		{"1 MiB of unrelated cookies", browser("/", manyCookies(64, 16<<10))},
		{"session cookie over 4096 bytes", browser("/", ck+long)},
		{"session cookie of 1 MiB", browser("/", ck+strings.Repeat("b", 1<<20))},
		{"empty session cookie", browser("/", ck)},
		{"quoted empty session cookie", browser("/", ck+`""`)},
		{"session cookie with invalid UTF-8", browser("/", ck+"abc\xff\xfe")},
		{"session cookie with UTF-8", browser("/", ck+"caf\u00e9")},
		{"session cookie with NUL", browser("/", ck+"a\x00b")},
		{"session cookie with CR LF", browser("/", ck+"a\r\nX-Injected: 1")},
		{"session cookie with a space", browser("/", ck+"a b")},
		{"session cookie with a comma", browser("/", ck+"a,b")},
		{"session cookie with a backslash", browser("/", ck+`a\b`)},
		{"session cookie with an inner quote", browser("/", ck+`a"b`)},
		{"the bare Ory Network prefix is no session cookie", browser("/", "ory_session_=value")},
		{"session cookie name in another case", browser("/", "ORY_KRATOS_SESSION=value")},
		{"X-Session-Token over 4096 bytes", &core.Request{URI: "/", SessionToken: long}},
		{"X-Session-Token of blanks", &core.Request{URI: "/", SessionToken: "   \t "}},
		{"X-Session-Token with a space inside", &core.Request{URI: "/", SessionToken: "ory_st_a b"}},
		{"X-Session-Token with NUL", &core.Request{URI: "/", SessionToken: "ory_st_\x00"}},
		{"X-Session-Token with invalid UTF-8", &core.Request{URI: "/", SessionToken: "ory_st_\xff"}},
		{"X-Session-Token with UTF-8", &core.Request{URI: "/", SessionToken: "ory_st_\u00e9"}},
		{"bad X-Session-Token hides a good cookie (Kratos' order)", &core.Request{URI: "/", SessionToken: "bad token", Cookies: []string{ck + "good"}}},
		{"Bearer over 4096 bytes", &core.Request{URI: "/", Authorization: "Bearer " + long}},
		{"Bearer with nothing", &core.Request{URI: "/", Authorization: "Bearer    "}},
		{"Bearer with two words", &core.Request{URI: "/", Authorization: "Bearer a b"}},
		{"Bearer with invalid UTF-8", &core.Request{URI: "/", Authorization: "Bearer \xc3\x28"}},
		{"Basic credentials", &core.Request{URI: "/", Authorization: "Basic b3J5OnNlc3Npb24="}},
		{"Bearer separated by a tab", &core.Request{URI: "/", Authorization: "Bearer\ttoken"}},
		{"session cookie name with a space", browser("/", "ory_session_a b=value")},
		{"session cookie name with a control byte", browser("/", "ory_session_a\x01b=value")},
		{"session cookie name with a separator", browser("/", "ory_session_a(b)=value")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ory.Calls()
			logs.Reset()
			for _, api := range []bool{false, true} {
				req := *tc.req
				req.Accept = "text/html"
				if api {
					req.Accept = "application/json"
				}
				d := g.Route().Authenticate(context.Background(), &req)
				if d.Allow {
					t.Fatal("allowed")
				}
				isAPI := api || req.SessionToken != "" || strings.HasPrefix(strings.ToLower(req.Authorization), "bearer ")
				if isAPI && d.Status != http.StatusUnauthorized || !isAPI && d.Status != http.StatusSeeOther {
					t.Fatalf("api=%v: status %d, want the unauthenticated answer (body %s)", api, d.Status, d.Body)
				}
				if d.Status == http.StatusSeeOther {
					loginLocation(t, ory.URL, d)
				}
			}
			if n := ory.Calls() - before; n != 0 {
				t.Fatalf("Ory was asked %d times about a credential that cannot be valid", n)
			}
			if logs.Len() != 0 {
				t.Fatalf("logged: %s", logs.String())
			}
		})
	}
}

// TestHostileCredentialsNextToAGoodOne: noise around a valid session
// cookie does not hide it, and only session cookies reach Ory: every
// well-formed one, in order (Kratos uses the first it can decode).
func TestHostileCredentialsNextToAGoodOne(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	const ck = "ory_kratos_session="
	for _, tc := range []struct {
		name    string
		cookies []string
		sent    string // the Cookie header Ory receives
	}{
		{"after 500 cookies", []string{manyCookies(500, 20) + "; " + ck + "good"}, ck + "good"},
		{"in the 100th Cookie header", append(strings.Split(strings.Repeat("a=b\n", 99), "\n")[:99], ck+"good"), ck + "good"},
		{"after 1 MiB of cookies", []string{manyCookies(64, 16<<10), ck + "good"}, ck + "good"},
		{"before a stale duplicate (both sent, Kratos chooses)", []string{ck + "good; " + ck + "stale"}, ck + "good; " + ck + "stale"},
		{"after a stale duplicate (both sent, Kratos chooses)", []string{ck + "stale", ck + "good"}, ck + "stale; " + ck + "good"},
		{"after a malformed duplicate (dropped, as Go's parser does)", []string{ck + "bad\\value; " + ck + "good"}, ck + "good"},
		{"identical duplicates (sent once)", []string{ck + "good", ck + "good"}, ck + "good"},
		{"quoted", []string{ck + `"good"`}, ck + "good"},
		{"with blanks around", []string{" \t" + ck + "good \t; x=y"}, ck + "good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory.Reset()
			d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", Accept: "text/html", Cookies: tc.cookies})
			if !d.Allow || d.Session.Id != "s1" {
				t.Fatalf("denied: %d %s", d.Status, d.Body)
			}
			rec := ory.Requests()
			if len(rec) != 1 || rec[0].Cookie != tc.sent || rec[0].SessionToken != "" || rec[0].Authorization != "" {
				t.Fatalf("Ory received %+v, want Cookie %q", rec, tc.sent)
			}
		})
	}
}

func TestOnlySessionCredentialReachesOry(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	req := browser("/", "")
	req.Cookies = []string{`_ga=GA1.2.3; theme=dark; ory_kratos_session=good; csrf_token_abc=xyz`, `app_session=secret`}
	req.Authorization = "Bearer other-token"
	d := g.Route().Authenticate(context.Background(), req)
	if !d.Allow {
		t.Fatalf("denied: %d %s", d.Status, d.Body)
	}
	got := ory.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests reached Ory, want 1", len(got))
	}
	want := orytest.Recorded{Path: "/sessions/whoami", Cookie: "ory_kratos_session=good"}
	if got[0] != want {
		t.Fatalf("Ory received %+v, want %+v", got[0], want)
	}

	ory.Reset()
	req = &core.Request{URI: "/", Authorization: "Bearer good", Cookies: []string{"theme=dark"}}
	if d := g.Route().Authenticate(context.Background(), req); !d.Allow {
		t.Fatalf("bearer denied: %d", d.Status)
	}
	want = orytest.Recorded{Path: "/sessions/whoami", SessionToken: "good"}
	if got := ory.Requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("Ory received %+v, want %+v", got, want)
	}
}

func TestNoCredentialDoesNotCallOry(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	g, _ := newGuard(t, ory.URL, nil)
	long := strings.Repeat("a", core.MaxCredentialLength+1)
	for _, req := range []*core.Request{
		browser("/", ""),
		browser("/", "theme=dark; _ga=1"),
		browser("/", "ory_kratos_session="),
		browser("/", "ory_kratos_session="+long),
		browser("/", "ory_kratos_session=a b"),
		{URI: "/", SessionToken: long},
		{URI: "/", SessionToken: "bad\x00token"},
		{URI: "/", Authorization: "Bearer "},
		{URI: "/", Authorization: "Bearer tok\xffen"},
	} {
		d := g.Route().Authenticate(context.Background(), req)
		if d.Allow || (d.Status != 303 && d.Status != 401) {
			t.Errorf("%+v: got allow=%v status=%d", req, d.Allow, d.Status)
		}
	}
	if n := ory.Calls(); n != 0 {
		t.Fatalf("Ory was called %d times for credentials that cannot be valid", n)
	}
	// Duplicates of one name all reach Ory, in order, for Kratos to choose
	// (it takes the first it can decode); a malformed one is dropped, as
	// Go's cookie parser drops it; an exact repeat is sent once.
	ory.Session("first", orytest.ActiveSession("s1", "a@example.com"))
	for _, tc := range []struct{ cookie, sent string }{
		{"ory_kratos_session=first; ory_kratos_session=stale", "ory_kratos_session=first; ory_kratos_session=stale"},
		{"ory_kratos_session=bad\\value; ory_kratos_session=first", "ory_kratos_session=first"},
		{"ory_kratos_session=first; theme=1; ory_kratos_session=first", "ory_kratos_session=first"},
	} {
		ory.Reset()
		d := g.Route().Authenticate(context.Background(), browser("/", tc.cookie))
		if !d.Allow || d.Session.Id != "s1" {
			t.Fatalf("%q: denied %d", tc.cookie, d.Status)
		}
		if rec := ory.Requests(); len(rec) != 1 || rec[0].Cookie != tc.sent {
			t.Fatalf("%q: Ory received %+v, want Cookie %q", tc.cookie, rec, tc.sent)
		}
	}
}
