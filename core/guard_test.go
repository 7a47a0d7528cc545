package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// logBuffer captures the guard's log lines.
type logBuffer struct{ bytes.Buffer }

func newGuard(t *testing.T, ory string, mutate func(*core.Config)) (*core.Guard, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := core.Config{
		OryURL:  ory,
		Timeout: 300 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs.Buffer, nil)),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	return g, logs
}

func expiredSession(id string) client.Session {
	s := orytest.ActiveSession(id, id+"@example.com")
	past := time.Now().Add(-time.Minute)
	s.ExpiresAt = &past
	return s
}

func inactiveSession(id string) client.Session {
	s := orytest.ActiveSession(id, id+"@example.com")
	f := false
	s.Active = &f
	return s
}

func aal2Session(id string) client.Session {
	s := orytest.ActiveSession(id, id+"@example.com")
	aal := client.AUTHENTICATORASSURANCELEVEL_AAL2
	s.AuthenticatorAssuranceLevel = &aal
	return s
}

func oldSession(id string) client.Session {
	s := orytest.ActiveSession(id, id+"@example.com")
	old := time.Now().Add(-2 * time.Hour)
	s.AuthenticatedAt = &old
	return s
}

func blockedIdentity(id string) client.Session {
	s := orytest.ActiveSession(id, id+"@example.com")
	st := "inactive"
	s.Identity.State = &st
	return s
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func browser(uri, cookie string) *core.Request {
	r := &core.Request{Method: http.MethodGet, URI: uri, Accept: browserAccept}
	if cookie != "" {
		r.Cookies = []string{cookie}
	}
	return r
}

func apiReq(uri, cookie string) *core.Request {
	r := browser(uri, cookie)
	r.Accept = "application/json"
	return r
}

// loginLocation parses a Location and checks it is Ory's login flow; it
// returns the query.
func loginLocation(t *testing.T, ory string, d core.Decision) url.Values {
	t.Helper()
	loc := d.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != ory+"/self-service/login/browser" {
		t.Fatalf("Location %q is not Ory's login flow", loc)
	}
	return u.Query()
}

type oryErr struct {
	Error struct {
		ID     string `json:"id"`
		Code   int    `json:"code"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

func decodeErr(t *testing.T, d core.Decision) oryErr {
	t.Helper()
	if ct := d.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	var e oryErr
	if err := json.Unmarshal(d.Body, &e); err != nil {
		t.Fatalf("body %q: %v", d.Body, err)
	}
	return e
}

func TestAuthenticate(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s-good", "good@example.com"))
	ory.Session("inactive", inactiveSession("s-inactive"))
	ory.Session("expired", expiredSession("s-expired"))
	ory.Session("blocked", blockedIdentity("s-blocked"))
	ory.Session("aal1", orytest.ActiveSession("s-aal1", "a@example.com"))
	ory.Session("aal2", aal2Session("s-aal2"))
	ory.Session("old", oldSession("s-old"))
	ory.Reply("stepup", orytest.Reply{Status: 403, Body: orytest.AAL2Required(ory.URL + "/self-service/login/browser?aal=aal2")})
	ory.Reply("limited", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: []byte(`{}`)})
	ory.Reply("broken", orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)})
	ory.Reply("unavailable", orytest.Reply{Status: 503, Body: []byte(`oops`)})
	ory.Reply("garbage", orytest.Reply{Body: []byte(`{"id": 12, not json`)})
	ory.Reply("empty", orytest.Reply{Body: nil})
	ory.Reply("noid", orytest.Reply{Body: []byte(`{"active":true}`)})
	ory.Reply("html", orytest.Reply{Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(`<html>`)})
	ory.Reply("hang", orytest.Reply{Hang: true})
	ory.Reply("truncated", orytest.Reply{Truncate: true, Body: mustJSON(orytest.ActiveSession("s-trunc", "t@example.com"))})
	ory.Reply("forbidden", orytest.Reply{Status: 403, Body: []byte(`{"error":{"id":"security_identity_mismatch","code":403}}`)})
	ory.Reply("notfound", orytest.Reply{Status: 404, Body: []byte(`404 page not found`)})
	ory.Reply("redirect", orytest.Reply{Status: 302, Header: http.Header{"Location": {"http://127.0.0.1:1/elsewhere"}}})

	const ck = "ory_kratos_session="
	tests := []struct {
		name    string
		req     *core.Request
		opts    []core.Option
		status  int  // 0 means allowed
		handler bool // the next handler runs
		session string
		check   func(t *testing.T, d core.Decision)
	}{
		{name: "no credential, browser", req: browser("/dash?x=1", ""), status: 303, check: func(t *testing.T, d core.Decision) {
			q := loginLocation(t, ory.URL, d)
			if q.Get("return_to") != "/dash?x=1" || q.Has("aal") || q.Has("refresh") {
				t.Errorf("query = %v", q)
			}
			if d.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", d.Header.Get("Cache-Control"))
			}
		}},
		{name: "no credential, API", req: apiReq("/api/x", ""), status: 401, check: func(t *testing.T, d core.Decision) {
			e := decodeErr(t, d)
			if e.Error.Code != 401 || e.Error.Status != "Unauthorized" || e.Error.Reason == "" {
				t.Errorf("body = %s", d.Body)
			}
		}},
		{name: "JSON content type is an API client", req: &core.Request{URI: "/x", ContentType: "application/json; charset=utf-8"}, status: 401},
		{name: "vendor JSON Accept is an API client", req: &core.Request{URI: "/x", Accept: "application/vnd.api+json"}, status: 401},
		{name: "Accept preferring HTML is a browser", req: &core.Request{URI: "/x", Accept: "application/json;q=0.5, text/html"}, status: 303},
		{name: "curl's */* is a browser", req: &core.Request{URI: "/x", Accept: "*/*"}, status: 303},
		{name: "valid cookie", req: browser("/", ck+"good"), handler: true, session: "s-good"},
		{name: "valid Ory Network cookie", req: browser("/", "ory_session_coolslug=good"), handler: true, session: "s-good"},
		{name: "valid X-Session-Token", req: &core.Request{URI: "/", SessionToken: "good"}, handler: true, session: "s-good"},
		{name: "valid bearer", req: &core.Request{URI: "/", Authorization: "Bearer good"}, handler: true, session: "s-good"},
		{name: "bearer scheme is case-insensitive", req: &core.Request{URI: "/", Authorization: "bearer good"}, handler: true, session: "s-good"},
		{name: "token wins over cookie", req: &core.Request{URI: "/", SessionToken: "good", Cookies: []string{ck + "inactive"}}, handler: true, session: "s-good"},
		{name: "cookie wins over bearer", req: &core.Request{URI: "/", Accept: browserAccept, Authorization: "Bearer good", Cookies: []string{ck + "inactive"}}, status: 401},
		{name: "basic auth is no credential", req: &core.Request{URI: "/", Accept: browserAccept, Authorization: "Basic Z29vZDpnb29k"}, status: 303},
		{name: "unknown cookie", req: browser("/", ck+"nope"), status: 303},
		{name: "unknown token answers 401", req: &core.Request{URI: "/", SessionToken: "nope", Accept: browserAccept}, status: 401},
		{name: "inactive session", req: browser("/", ck+"inactive"), status: 303},
		{name: "expired session", req: browser("/", ck+"expired"), status: 303},
		{name: "inactive identity", req: apiReq("/", ck+"blocked"), status: 401},
		{name: "aal2 required by Ory, browser", req: browser("/secret?a=b", ck+"stepup"), status: 303, check: func(t *testing.T, d core.Decision) {
			q := loginLocation(t, ory.URL, d)
			if q.Get("aal") != "aal2" || q.Get("return_to") != "/secret?a=b" {
				t.Errorf("query = %v", q)
			}
		}},
		{name: "aal2 required by Ory, API", req: apiReq("/secret", ck+"stepup"), status: 403, check: func(t *testing.T, d core.Decision) {
			e := decodeErr(t, d)
			u, err := url.Parse(e.RedirectBrowserTo)
			if e.Error.ID != "session_aal2_required" || err != nil || u.Query().Get("aal") != "aal2" || u.Query().Get("return_to") != "/secret" {
				t.Errorf("body = %s", d.Body)
			}
		}},
		{name: "RequireAAL2 with aal1", req: browser("/admin", ck+"aal1"), opts: []core.Option{core.RequireAAL2()}, status: 303, check: func(t *testing.T, d core.Decision) {
			q := loginLocation(t, ory.URL, d)
			if q.Get("aal") != "aal2" || q.Has("refresh") || q.Get("return_to") != "/admin" {
				t.Errorf("query = %v", q)
			}
		}},
		{name: "RequireAAL2 with aal1, API", req: apiReq("/admin", ck+"aal1"), opts: []core.Option{core.RequireAAL2()}, status: 403, check: func(t *testing.T, d core.Decision) {
			if e := decodeErr(t, d); e.Error.ID != "session_aal2_required" || e.RedirectBrowserTo == "" {
				t.Errorf("body = %s", d.Body)
			}
		}},
		{name: "RequireAAL2 with aal2", req: browser("/admin", ck+"aal2"), opts: []core.Option{core.RequireAAL2()}, handler: true, session: "s-aal2"},
		{name: "MaxAuthAge exceeded", req: browser("/pay", ck+"old"), opts: []core.Option{core.MaxAuthAge(time.Hour)}, status: 303, check: func(t *testing.T, d core.Decision) {
			q := loginLocation(t, ory.URL, d)
			if q.Get("refresh") != "true" || q.Has("aal") || q.Get("return_to") != "/pay" {
				t.Errorf("query = %v", q)
			}
		}},
		{name: "MaxAuthAge exceeded, API", req: apiReq("/pay", ck+"old"), opts: []core.Option{core.MaxAuthAge(time.Hour)}, status: 403, check: func(t *testing.T, d core.Decision) {
			e := decodeErr(t, d)
			u, _ := url.Parse(e.RedirectBrowserTo)
			if e.Error.ID != "session_refresh_required" || u == nil || u.Query().Get("refresh") != "true" {
				t.Errorf("body = %s", d.Body)
			}
		}},
		{name: "MaxAuthAge and AAL2 together", req: browser("/pay", ck+"old"), opts: []core.Option{core.MaxAuthAge(time.Hour), core.RequireAAL2()}, status: 303, check: func(t *testing.T, d core.Decision) {
			q := loginLocation(t, ory.URL, d)
			if q.Get("refresh") != "true" || q.Get("aal") != "aal2" {
				t.Errorf("query = %v", q)
			}
		}},
		{name: "MaxAuthAge satisfied", req: browser("/pay", ck+"good"), opts: []core.Option{core.MaxAuthAge(time.Hour)}, handler: true, session: "s-good"},
		{name: "optional without credential", req: browser("/", ""), opts: []core.Option{core.Optional()}, handler: true},
		{name: "optional with session", req: browser("/", ck+"good"), opts: []core.Option{core.Optional()}, handler: true, session: "s-good"},
		{name: "optional with Ory down", req: browser("/", ck+"broken"), opts: []core.Option{core.Optional()}, handler: true},
		{name: "optional with aal2 required", req: browser("/", ck+"stepup"), opts: []core.Option{core.Optional()}, handler: true},
		{name: "ForceAPI", req: browser("/", ""), opts: []core.Option{core.ForceAPI()}, status: 401},
		{name: "ForceBrowser", req: &core.Request{URI: "/x", SessionToken: "nope"}, opts: []core.Option{core.ForceBrowser()}, status: 303},
		{name: "429 passes Retry-After", req: browser("/", ck+"limited"), status: 429, check: func(t *testing.T, d core.Decision) {
			if d.Header.Get("Retry-After") != "7" || d.Header.Get("Location") != "" {
				t.Errorf("header = %v", d.Header)
			}
		}},
		{name: "Ory 500", req: browser("/", ck+"broken"), status: 502},
		{name: "Ory 503", req: apiReq("/", ck+"unavailable"), status: 502, check: func(t *testing.T, d core.Decision) {
			if e := decodeErr(t, d); e.Error.Code != 502 {
				t.Errorf("body = %s", d.Body)
			}
		}},
		{name: "Ory 404 (wrong URL) is a failure, not a login", req: browser("/", ck+"notfound"), status: 502},
		{name: "Ory redirect is not followed", req: browser("/", ck+"redirect"), status: 502},
		{name: "garbage body", req: browser("/", ck+"garbage"), status: 502},
		{name: "empty body", req: browser("/", ck+"empty"), status: 502},
		{name: "session without id", req: browser("/", ck+"noid"), status: 502},
		{name: "HTML body", req: browser("/", ck+"html"), status: 502},
		{name: "truncated body", req: browser("/", ck+"truncated"), status: 502},
		{name: "hang times out", req: browser("/", ck+"hang"), status: 504},
		{name: "other 403 is forbidden, no login", req: browser("/", ck+"forbidden"), status: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newGuard(t, ory.URL, nil)
			d := g.Route(tc.opts...).Authenticate(context.Background(), tc.req)
			if d.Allow != tc.handler {
				t.Fatalf("Allow = %v, want %v (status %d, body %s)", d.Allow, tc.handler, d.Status, d.Body)
			}
			if !d.Allow && d.Status != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", d.Status, tc.status, d.Body)
			}
			gotID := ""
			if d.Session != nil {
				gotID = d.Session.Id
			}
			if gotID != tc.session {
				t.Fatalf("session = %q, want %q", gotID, tc.session)
			}
			if d.Status == 303 {
				loginLocation(t, ory.URL, d)
			}
			if d.Status >= 500 || d.Status == 429 {
				if d.Header.Get("Location") != "" {
					t.Fatalf("failure redirected to %q", d.Header.Get("Location"))
				}
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// answer is what a client sees of a decision.
func answer(d core.Decision) string {
	return fmt.Sprintf("allow=%v status=%d header=%v body=%q", d.Allow, d.Status, d.Header, d.Body)
}
