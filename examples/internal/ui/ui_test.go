package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Flows as Kratos v1.3.1 answers them (trimmed).
const registrationFlow = `{"id":"f1","type":"browser","expires_at":"2030-01-01T00:00:00Z","issued_at":"2030-01-01T00:00:00Z",
"request_url":"http://ory/self-service/registration/browser","state":"choose_method",
"ui":{"action":"http://ory/self-service/registration?flow=f1","method":"POST","nodes":[
{"type":"input","group":"default","attributes":{"name":"csrf_token","type":"hidden","value":"tok","required":true,"disabled":false,"node_type":"input"},"messages":[],"meta":{}},
{"type":"input","group":"password","attributes":{"name":"traits.email","type":"email","required":true,"autocomplete":"email","disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070002,"text":"E-Mail","type":"info"}}},
{"type":"input","group":"password","attributes":{"name":"password","type":"password","required":true,"autocomplete":"new-password","disabled":false,"node_type":"input"},"messages":[{"id":4000005,"text":"The password is too short.","type":"error"}],"meta":{"label":{"id":1070001,"text":"Password","type":"info"}}},
{"type":"input","group":"password","attributes":{"name":"method","type":"submit","value":"password","disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1040001,"text":"Sign up","type":"info"}}}]}}`

const settingsFlow = `{"id":"f2","type":"browser","expires_at":"2030-01-01T00:00:00Z","issued_at":"2030-01-01T00:00:00Z",
"request_url":"http://ory/self-service/settings/browser","state":"show_form","identity":{"id":"i1","schema_id":"default","schema_url":"http://ory/s","traits":{"email":"a@example.com"}},
"ui":{"action":"http://ory/self-service/settings?flow=f2","method":"POST","messages":[{"id":1050001,"text":"Your changes have been saved!","type":"success"}],"nodes":[
{"type":"input","group":"default","attributes":{"name":"csrf_token","type":"hidden","value":"tok","required":true,"disabled":false,"node_type":"input"},"messages":[],"meta":{}},
{"type":"input","group":"password","attributes":{"name":"password","type":"password","required":true,"disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070001,"text":"Password","type":"info"}}},
{"type":"input","group":"password","attributes":{"name":"method","type":"submit","value":"password","disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070003,"text":"Save","type":"info"}}},
{"type":"img","group":"totp","attributes":{"src":"data:image/png;base64,iVBORw0KGgo=","id":"totp_qr","width":256,"height":256,"node_type":"img"},"messages":[],"meta":{"label":{"id":1050005,"text":"Authenticator app QR code","type":"info"}}},
{"type":"text","group":"totp","attributes":{"text":{"id":1050006,"text":"SECRETKEY","type":"info"},"id":"totp_secret_key","node_type":"text"},"messages":[],"meta":{"label":{"id":1050017,"text":"This is your authenticator app secret.","type":"info"}}},
{"type":"input","group":"totp","attributes":{"name":"totp_code","type":"text","required":true,"disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070006,"text":"Verify code","type":"info"}}},
{"type":"input","group":"totp","attributes":{"name":"method","type":"submit","value":"totp","disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070003,"text":"Save","type":"info"}}},
{"type":"script","group":"webauthn","attributes":{"src":"http://ory/.well-known/ory/webauthn.js","id":"webauthn_script","async":true,"referrerpolicy":"no-referrer","crossorigin":"anonymous","integrity":"x","type":"text/javascript","nonce":"n","node_type":"script"},"messages":[],"meta":{}}]}}`

// fakeOry answers flow and error requests and records the Cookie header.
func fakeOry(t *testing.T) (*httptest.Server, *string) {
	var cookie string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookie = r.Header.Get("Cookie")
		w.Header().Set("Content-Type", "application/json")
		id := r.URL.Query().Get("id")
		switch {
		case id == "gone":
			w.WriteHeader(http.StatusGone)
			_, _ = io.WriteString(w, `{"error":{"id":"self_service_flow_expired","code":410,"status":"Gone","message":"expired"}}`)
		case id == "csrf":
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"id":"security_csrf_violation","code":403,"status":"Forbidden","message":"csrf"}}`)
		case id == "down":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"code":500,"status":"Internal Server Error","message":"boom"}}`)
		case r.URL.Path == "/self-service/registration/flows":
			_, _ = io.WriteString(w, registrationFlow)
		case r.URL.Path == "/self-service/settings/flows":
			_, _ = io.WriteString(w, settingsFlow)
		case r.URL.Path == "/self-service/errors":
			_, _ = io.WriteString(w, `{"id":"e1","error":{"code":500,"message":"The flow broke.","reason":"Because reasons."}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &cookie
}

func serve(t *testing.T, h http.Handler, target, cookie string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRegistrationPage(t *testing.T) {
	ory, gotCookie := fakeOry(t)
	pages := NewFlows(ory.URL).Pages()
	rec := serve(t, pages["/registration"], "/registration?flow=f1", "app=secret; csrf_token_abc=c1; ory_kratos_session=s1")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if *gotCookie != "csrf_token_abc=c1; ory_kratos_session=s1" {
		t.Errorf("cookie sent to Ory = %q, want only Ory's cookies", *gotCookie)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<form class="card" action="http://ory/self-service/registration?flow=f1" method="POST">`,
		`<input type="hidden" name="csrf_token" value="tok">`,
		`<input type="email" name="traits.email" autocomplete="email" required>`,
		`<input type="password" name="password" autocomplete="new-password" required>`,
		`<button type="submit" name="method" value="password">Sign up</button>`,
		`The password is too short.`,
		`href="/login"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("page has a script")
	}
}

func TestSettingsPage(t *testing.T) {
	ory, _ := fakeOry(t)
	rec := serve(t, NewFlows(ory.URL).Pages()["/settings"], "/settings?flow=f2", "csrf_token_abc=c1")
	body := rec.Body.String()
	for _, want := range []string{
		`Your changes have been saved!`,
		`<h2>Password</h2>`,
		`<h2>Authenticator app (TOTP)</h2>`,
		`<img id="totp_qr" src="data:image/png;base64,iVBORw0KGgo="`,
		`<code id="totp_secret_key">SECRETKEY</code>`,
		`<input type="text" name="totp_code" required>`,
		`<button type="submit" name="method" value="totp">Save</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if n := strings.Count(body, `name="csrf_token"`); n != 2 {
		t.Errorf("%d csrf_token fields, want one per form (2)", n)
	}
	if strings.Contains(body, "webauthn") {
		t.Error("page renders the WebAuthn script node")
	}
}

func TestFlowRedirects(t *testing.T) {
	ory, _ := fakeOry(t)
	pages := NewFlows(ory.URL).Pages()
	for _, tc := range []struct {
		page, target, cookie string
		status               int
		location             string
	}{
		{"/login", "/login?return_to=%2Fdashboard&aal=aal2&refresh=true&x=1", "", 303, "/self-service/login/browser?aal=aal2&refresh=true&return_to=%2Fdashboard"},
		{"/registration", "/registration?return_to=%2Fdashboard&refresh=true", "", 303, "/self-service/registration/browser?return_to=%2Fdashboard"},
		{"/settings", "/settings", "", 303, "/self-service/settings/browser"},
		{"/login", "/login?flow=unknown", "", 303, "/self-service/login/browser"},
		{"/registration", "/registration?flow=gone", "", 303, "/self-service/registration/browser"},
		{"/login", "/login?flow=csrf", "csrf_token_x=stale", 303, "/self-service/login/browser"},
		{"/login", "/login?flow=csrf", "", 403, ""}, // no CSRF cookie: explain instead of looping
		{"/login", "/login?flow=down", "", 502, ""},
	} {
		rec := serve(t, pages[tc.page], tc.target, tc.cookie)
		if rec.Code != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.target, rec.Code, tc.status)
		}
		if tc.location != "" {
			if loc := rec.Header().Get("Location"); loc != ory.URL+tc.location {
				t.Errorf("GET %s: Location %q, want %q", tc.target, loc, ory.URL+tc.location)
			}
		}
	}
}

func TestErrorPage(t *testing.T) {
	ory, _ := fakeOry(t)
	page := NewFlows(ory.URL).Pages()["/error"]
	rec := serve(t, page, "/error?id=e1", "")
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "The flow broke.") || !strings.Contains(body, "Because reasons.") {
		t.Errorf("error page: %d\n%s", rec.Code, body)
	}
	if rec := serve(t, page, "/error", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "unknown error") {
		t.Errorf("error page without id: %d\n%s", rec.Code, rec.Body)
	}
}

func TestWantsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                  false,
		"*/*":                               false,
		"application/json":                  true,
		"application/problem+json":          true,
		"text/html,application/json;q=0.9":  false,
		"text/html;q=0.5, application/json": true,
		"application/json;q=0":              false,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": false,
	} {
		if got := WantsJSON(accept); got != want {
			t.Errorf("WantsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}
