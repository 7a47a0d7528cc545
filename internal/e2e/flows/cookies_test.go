package flows_test

import (
	"net/http"
	"testing"

	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/flows"
)

// plantedCookies: cookies a sibling subdomain can plant for the parent
// domain (cookie tossing). Kratos reads the first cookie of its exact name
// that it can decode and ignores other names; for every mix, Kratos' own
// answer is asked first, and the guard must let the session in too: neither
// the empty one nor the five ory_session_* may make the guard answer "no
// session" without asking Kratos.
func plantedCookies(t *testing.T, e *flows.Env) {
	bs, other := register(t, e), register(t, e)
	m := e.Guards(t, nil).Protected()
	real := sessionCookie + "=" + bs.Cookie.Value
	forged := sessionCookie + "=" + tamper(other.Cookie.Value)
	five := "ory_session_a=1; ory_session_b=1; ory_session_c=1; ory_session_d=1; ory_session_e=1"
	sent := func(h string) orytest.Recorded { return orytest.Recorded{Path: whoamiPath, Cookie: h} }
	for _, c := range []struct{ name, header, forwarded string }{
		{"empty session cookie after the real one", real + "; " + sessionCookie + "=", real},
		{"five ory_session_* cookies next to it", real + "; " + five, real + "; " + five},
		{"a forged session cookie before it", forged + "; " + real, forged + "; " + real},
		{"all of it, among app cookies", "theme=dark; " + forged + "; " + five + "; " + sessionCookie + "=; " + real + "; _ga=1",
			forged + "; " + five + "; " + real},
	} {
		if status, id := whoami(t, e, cookieHeader(c.header)); status != http.StatusOK || id != bs.SessionID {
			t.Fatalf("%s: Kratos answers %d session %q, want the session", c.name, status, id)
		}
		m.Send(t, browserReq("/dashboard", c.header)).Expect(t, c.name, allowed(bs.SessionID, bs.Email, "aal1", sent(c.forwarded)))
	}
}
