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
// never refuses the request itself. Before security round 2 an empty
// ory_kratos_session= after the real one, or five ory_session_* cookies,
// made the guard answer "no session" without asking Ory: a login loop.
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
