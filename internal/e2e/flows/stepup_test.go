package flows_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/flows"
)

// stepUpAsksAgain: a token client whose aal1 session is cached is refused
// by a RequireAAL2 route, then completes TOTP through Kratos' API settings
// flow (Kratos raises the session to aal2). The guard asks Kratos again
// before refusing the cached copy, so the client passes at once rather
// than when the cache entry expires.
func stepUpAsksAgain(t *testing.T, e *flows.Env) {
	api := registerAPI(t, e)
	m := e.Guards(t, longCache).Protected(core.RequireAAL2())
	refused := with(apiError(http.StatusForbidden, "session_aal2_required", reasonAAL2,
		e.OryURL()+loginFlow+"?aal=aal2&return_to=%2Fapi%2Fadmin"), whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "aal1 token", refused)
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "aal1 token again: the cached copy fails, Kratos is asked", refused)

	must(e.Kratos.EnableTOTPAPI(t.Context(), api.Token))(t)
	if s := tokenSession(t, e, api.Token); s.AAL != "aal2" {
		t.Fatalf("after TOTP through the API settings flow Kratos counts the token as %q, want aal2", s.AAL)
	}
	ok := allowed(api.SessionID, api.Email, "aal2", whoamiToken(api.Token))
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "after the step-up", ok)
	m.Send(t, tokenReq("/api/admin", api.Token)).Expect(t, "after the step-up, from the cache", fromCache(ok))
}

// stepUpRedirectOrigin: Kratos' redirect_browser_to points at Kratos'
// own public URL, which is not the guards' OryURL (the recording proxy):
// without Config.AllowedRedirectOrigins the guard builds the aal2 login
// URL on OryURL itself, and Kratos (through the proxy) accepts it.
func stepUpRedirectOrigin(t *testing.T, e *flows.Env) {
	owner := register(t, e)
	must(e.Kratos.EnableTOTP(t.Context(), owner))(t)
	bs := must(e.Kratos.LoginBrowser(t.Context(), owner.Email, password, nil))(t)
	rs := e.Guards(t, nil).Protected().Send(t, browserReq("/dashboard", browserCookies(e, bs.Jar)))
	rs.Expect(t, "redirect_browser_to on another origin", with(toLogin(e.Ory.Host, "aal", "aal2", "return_to", "/dashboard"), whoamiCookie(bs.Cookie.Value)))
	loc := strings.Replace(rs.First().RawLocation, e.Ory.URL, e.Kratos.PublicURL(), 1)
	wantFlow(t, intoKratos(t, e, bs.Jar, loc), "/dashboard", false, "aal2", "totp")
}
