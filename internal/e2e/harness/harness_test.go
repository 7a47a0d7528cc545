package harness_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

const password = "correct-horse-battery-staple-42"

func TestStartWithoutBinary(t *testing.T) {
	_, err := harness.StartKratos(t.Context(), harness.KratosOptions{Binary: "/nonexistent/kratos"})
	if err == nil || !strings.Contains(err.Error(), "run `make kratos`") {
		t.Fatalf("Start error = %v, want one that says to run `make kratos`", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	srv := harness.StartKratosT(t, harness.KratosOptions{})
	ctx := t.Context()

	browser, err := srv.RegisterBrowser(ctx, "browser@example.com", password)
	check(t, err)
	api, err := srv.RegisterAPI(ctx, "api@example.com", password)
	check(t, err)
	if browser.Cookie.Name != harness.SessionCookieName || browser.IdentityID == "" || browser.SessionID == "" {
		t.Fatalf("browser session = %+v", browser)
	}
	if browser.Cookie.Secure {
		t.Error("session cookie is Secure; in dev mode it must work over http")
	}
	wantCookie(t, srv, browser, http.StatusOK, "")
	wantToken(t, srv, api.Token, http.StatusOK, "")

	login, err := srv.LoginBrowser(ctx, "browser@example.com", password, nil)
	check(t, err)
	apiLogin, err := srv.LoginAPI(ctx, "api@example.com", password)
	check(t, err)
	if login.SessionID == browser.SessionID || login.IdentityID != browser.IdentityID {
		t.Errorf("login session %+v, registration session %+v", login, browser)
	}

	check(t, srv.RevokeSession(ctx, browser.SessionID))
	wantCookie(t, srv, browser, http.StatusUnauthorized, "")
	wantCookie(t, srv, login, http.StatusOK, "")

	check(t, srv.DeleteIdentitySessions(ctx, api.IdentityID))
	wantToken(t, srv, api.Token, http.StatusUnauthorized, "")
	wantToken(t, srv, apiLogin.Token, http.StatusUnauthorized, "")

	check(t, srv.LogoutBrowser(ctx, login))
	wantCookie(t, srv, login, http.StatusUnauthorized, "")

	again, err := srv.LoginAPI(ctx, "api@example.com", password)
	check(t, err)
	check(t, srv.LogoutAPI(ctx, again.Token))
	wantToken(t, srv, again.Token, http.StatusUnauthorized, "")
}

func TestSecondFactor(t *testing.T) {
	t.Parallel()
	srv := harness.StartKratosT(t, harness.KratosOptions{})
	ctx := t.Context()

	bs, err := srv.RegisterBrowser(ctx, "totp@example.com", password)
	check(t, err)
	secret, err := srv.EnableTOTP(ctx, bs)
	check(t, err)
	if r := wantCookie(t, srv, bs, http.StatusOK, ""); r.AAL != "aal2" {
		t.Errorf("session that enabled TOTP has %q, want aal2", r.AAL)
	}

	aal1, err := srv.LoginBrowser(ctx, "totp@example.com", password, nil)
	check(t, err)
	if aal1.SessionID == "" || aal1.SessionID == bs.SessionID || aal1.IdentityID != bs.IdentityID {
		t.Errorf("aal1 login session %+v, registration session %+v", aal1, bs)
	}
	if !strings.Contains(aal1.RedirectBrowserTo, "aal=aal2") {
		t.Errorf("aal1 login RedirectBrowserTo = %q, want the aal2 login", aal1.RedirectBrowserTo)
	}
	r := wantCookie(t, srv, aal1, http.StatusForbidden, "session_aal2_required")
	if !strings.HasPrefix(r.RedirectBrowserTo, srv.PublicURL()+"/self-service/login/browser?aal=aal2") {
		t.Errorf("redirect_browser_to = %q", r.RedirectBrowserTo)
	}

	aal2, err := srv.LoginSecondFactor(ctx, aal1, secret)
	check(t, err)
	if r := wantCookie(t, srv, aal2, http.StatusOK, ""); r.AAL != "aal2" || r.SessionID != aal1.SessionID {
		t.Errorf("after second factor: %s session %s, want aal2 session %s", r.AAL, r.SessionID, aal1.SessionID)
	}

	refreshed, err := srv.ReauthenticateBrowser(ctx, aal2, password, nil)
	check(t, err)
	wantCookie(t, srv, refreshed, http.StatusOK, "")

	check(t, srv.LogoutBrowser(ctx, refreshed))
	wantCookie(t, srv, refreshed, http.StatusUnauthorized, "")
}

func TestRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		persistent bool
		want       int
	}{
		{"persistent keeps sessions", true, http.StatusOK},
		{"memory loses sessions", false, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := harness.StartKratosT(t, harness.KratosOptions{Persistent: tc.persistent})
			ctx := t.Context()
			bs, err := srv.RegisterBrowser(ctx, "restart@example.com", password)
			check(t, err)
			api, err := srv.RegisterAPI(ctx, "restart-api@example.com", password)
			check(t, err)
			public := srv.PublicURL()

			check(t, srv.Restart(ctx))
			if srv.PublicURL() != public {
				t.Errorf("public URL changed on restart: %s -> %s", public, srv.PublicURL())
			}
			wantCookie(t, srv, bs, tc.want, "")
			wantToken(t, srv, api.Token, tc.want, "")

			check(t, srv.Stop())
			check(t, srv.Stop()) // idempotent
			if err := srv.Restart(context.Background()); err == nil {
				t.Error("Restart after Stop succeeded")
			}
		})
	}
}

func wantCookie(t *testing.T, srv *harness.Kratos, bs *harness.BrowserSession, status int, errorID string) *harness.WhoamiResponse {
	t.Helper()
	r, err := srv.WhoamiCookie(t.Context(), bs.Cookie)
	check(t, err)
	return wantWhoami(t, r, status, errorID)
}

func wantToken(t *testing.T, srv *harness.Kratos, token string, status int, errorID string) *harness.WhoamiResponse {
	t.Helper()
	r, err := srv.WhoamiToken(t.Context(), token)
	check(t, err)
	return wantWhoami(t, r, status, errorID)
}

func wantWhoami(t *testing.T, r *harness.WhoamiResponse, status int, errorID string) *harness.WhoamiResponse {
	t.Helper()
	if r.Status != status || (errorID != "" && r.ErrorID != errorID) {
		t.Errorf("whoami = %d error.id %q, want %d %q; body: %s", r.Status, r.ErrorID, status, errorID, r.Body)
	}
	return r
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
