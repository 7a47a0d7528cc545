package harness

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"time"

	ory "github.com/ory/client-go"
	"github.com/pquerna/otp/totp"
)

// SessionCookieName is the name of Kratos' session cookie.
const SessionCookieName = "ory_kratos_session"

// BrowserSession is a browser that signed in through a browser flow.
type BrowserSession struct {
	// Email is the identity's email trait (its password identifier).
	Email string
	// IdentityID and SessionID are Kratos' ids of the identity and session.
	IdentityID string
	SessionID  string
	// Cookie is the ory_kratos_session cookie as Kratos set it.
	Cookie *http.Cookie
	// RedirectBrowserTo is set when the login answered
	// browser_location_change_required: the identity has a second factor, the
	// session is aal1 and Kratos wants the browser at this aal2 login URL.
	RedirectBrowserTo string
	// Jar holds every cookie of this browser (session and CSRF cookies);
	// follow-up flows for this browser use it.
	Jar http.CookieJar
}

// APISession is a session of a native (API) client.
type APISession struct {
	// Email is the identity's email trait (its password identifier).
	Email string
	// IdentityID and SessionID are Kratos' ids of the identity and session.
	// IdentityID is empty after LoginAPI for an identity with a second
	// factor: Kratos leaves the identity out of an aal1 answer.
	IdentityID string
	SessionID  string
	// Token is the session token, sent as X-Session-Token.
	Token string
}

// WhoamiResponse is Kratos' answer to GET /sessions/whoami, with the fields
// tests assert on already decoded.
type WhoamiResponse struct {
	// Status, Header and Body are the HTTP answer as received.
	Status int
	Header http.Header
	Body   []byte
	// ErrorID is error.id of an error answer (e.g. session_aal2_required).
	ErrorID string
	// RedirectBrowserTo is redirect_browser_to of a 403 step-up answer.
	RedirectBrowserTo string
	// SessionID, AAL and Active describe the session of a 200 answer.
	SessionID string
	AAL       string
	Active    bool
}

// RegisterBrowser signs up a new identity through the browser registration
// flow, as a browser would with JSON requests, and returns its session.
func (s *Kratos) RegisterBrowser(ctx context.Context, email, password string) (*BrowserSession, error) {
	b, err := s.browser(nil)
	if err != nil {
		return nil, err
	}
	flow, resp, err := b.api.FrontendAPI.CreateBrowserRegistrationFlow(ctx).Execute()
	closeBody(resp)
	if err != nil {
		return nil, apiError("create browser registration flow", err)
	}
	csrf, err := csrfToken(flow.Ui.Nodes)
	if err != nil {
		return nil, fmt.Errorf("browser registration flow: %w", err)
	}
	res, resp, err := b.api.FrontendAPI.UpdateRegistrationFlow(ctx).Flow(flow.Id).
		UpdateRegistrationFlowBody(ory.UpdateRegistrationFlowWithPasswordMethodAsUpdateRegistrationFlowBody(
			&ory.UpdateRegistrationFlowWithPasswordMethod{
				Method: "password", Password: password, CsrfToken: &csrf,
				Traits: map[string]any{"email": email},
			})).Execute()
	closeBody(resp)
	if err != nil {
		return nil, apiError("submit browser registration flow", err)
	}
	if res.Session == nil {
		return nil, errors.New("browser registration gave no session (is the session hook configured?)")
	}
	return b.session(email, *res.Session, resp)
}

// LoginBrowser signs in with email and password through the browser login
// flow in a new browser. params are passed when the flow is created; the
// supported keys are return_to, refresh and aal. For an identity with a
// second factor the session is aal1 and RedirectBrowserTo is set.
func (s *Kratos) LoginBrowser(ctx context.Context, email, password string, params url.Values) (*BrowserSession, error) {
	b, err := s.browser(nil)
	if err != nil {
		return nil, err
	}
	return b.login(ctx, email, params, passwordLogin(email, password))
}

// ReauthenticateBrowser signs in again with the password in the browser of
// bs, sending its session cookie, with refresh=true added to params. The
// session keeps its id and gets a new authenticated_at.
func (s *Kratos) ReauthenticateBrowser(ctx context.Context, bs *BrowserSession, password string, params url.Values) (*BrowserSession, error) {
	b, err := s.browser(bs.Jar)
	if err != nil {
		return nil, err
	}
	params = cloneValues(params)
	params.Set("refresh", "true")
	return b.login(ctx, bs.Email, params, passwordLogin(bs.Email, password))
}

// LoginSecondFactor upgrades the session of bs to aal2 with a TOTP code for
// secret, through a login flow with aal=aal2. The returned session shares
// bs's jar.
func (s *Kratos) LoginSecondFactor(ctx context.Context, bs *BrowserSession, secret string) (*BrowserSession, error) {
	b, err := s.browser(bs.Jar)
	if err != nil {
		return nil, err
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		return nil, fmt.Errorf("generate totp code: %w", err)
	}
	return b.login(ctx, bs.Email, url.Values{"aal": {"aal2"}}, func(csrf string) ory.UpdateLoginFlowBody {
		return ory.UpdateLoginFlowWithTotpMethodAsUpdateLoginFlowBody(&ory.UpdateLoginFlowWithTotpMethod{
			Method: "totp", TotpCode: code, CsrfToken: &csrf,
		})
	})
}

// EnableTOTP adds a TOTP second factor to the identity of bs through the
// browser settings flow and returns the TOTP secret. Kratos marks the
// session of bs as aal2; new password logins of the identity are aal1, and
// whoami answers them with 403 session_aal2_required.
func (s *Kratos) EnableTOTP(ctx context.Context, bs *BrowserSession) (string, error) {
	b, err := s.browser(bs.Jar)
	if err != nil {
		return "", err
	}
	flow, resp, err := b.api.FrontendAPI.CreateBrowserSettingsFlow(ctx).Execute()
	closeBody(resp)
	if err != nil {
		return "", apiError("create browser settings flow", err)
	}
	csrf, err := csrfToken(flow.Ui.Nodes)
	if err != nil {
		return "", fmt.Errorf("browser settings flow: %w", err)
	}
	var secret string
	for _, n := range flow.Ui.Nodes {
		if t := n.Attributes.UiNodeTextAttributes; t != nil && t.Id == "totp_secret_key" {
			secret = t.Text.Text
		}
	}
	if secret == "" {
		return "", errors.New("browser settings flow has no totp_secret_key node (is TOTP enabled, or already linked?)")
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		return "", fmt.Errorf("generate totp code: %w", err)
	}
	res, _, err := b.api.FrontendAPI.UpdateSettingsFlow(ctx).Flow(flow.Id).
		UpdateSettingsFlowBody(ory.UpdateSettingsFlowWithTotpMethodAsUpdateSettingsFlowBody(
			&ory.UpdateSettingsFlowWithTotpMethod{Method: "totp", TotpCode: &code, CsrfToken: &csrf})).
		Execute()
	if err != nil {
		return "", apiError("submit totp in browser settings flow", err)
	}
	if res.State != ory.SETTINGSFLOWSTATE_SUCCESS {
		return "", fmt.Errorf("browser settings flow ended in state %q", res.State)
	}
	return secret, nil
}

// EnableTOTPAPI adds a TOTP second factor to the identity of a native
// (token) session through the API settings flow, as a mobile app would,
// and returns the TOTP secret. Kratos raises that session to aal2.
func (s *Kratos) EnableTOTPAPI(ctx context.Context, token string) (string, error) {
	api := s.publicAPI(nil)
	flow, resp, err := api.FrontendAPI.CreateNativeSettingsFlow(ctx).XSessionToken(token).Execute()
	closeBody(resp)
	if err != nil {
		return "", apiError("create native settings flow", err)
	}
	var secret string
	for _, n := range flow.Ui.Nodes {
		if t := n.Attributes.UiNodeTextAttributes; t != nil && t.Id == "totp_secret_key" {
			secret = t.Text.Text
		}
	}
	if secret == "" {
		return "", errors.New("native settings flow has no totp_secret_key node (is TOTP enabled, or already linked?)")
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		return "", fmt.Errorf("generate totp code: %w", err)
	}
	res, resp, err := api.FrontendAPI.UpdateSettingsFlow(ctx).Flow(flow.Id).XSessionToken(token).
		UpdateSettingsFlowBody(ory.UpdateSettingsFlowWithTotpMethodAsUpdateSettingsFlowBody(
			&ory.UpdateSettingsFlowWithTotpMethod{Method: "totp", TotpCode: &code})).
		Execute()
	closeBody(resp)
	if err != nil {
		return "", apiError("submit totp in native settings flow", err)
	}
	if res.State != ory.SETTINGSFLOWSTATE_SUCCESS {
		return "", fmt.Errorf("native settings flow ended in state %q", res.State)
	}
	return secret, nil
}

// LogoutBrowser ends the session of bs: it creates a browser logout flow
// with the session cookie and opens its logout_url.
func (s *Kratos) LogoutBrowser(ctx context.Context, bs *BrowserSession) error {
	b, err := s.browser(bs.Jar)
	if err != nil {
		return err
	}
	flow, _, err := b.api.FrontendAPI.CreateBrowserLogoutFlow(ctx).Execute()
	if err != nil {
		return apiError("create browser logout flow", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, flow.LogoutUrl, nil)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Errorf("logout: %s: %s", resp.Status, body)
	}
	return nil
}

// RegisterAPI signs up a new identity through the native (API) registration
// flow and returns its session token.
func (s *Kratos) RegisterAPI(ctx context.Context, email, password string) (*APISession, error) {
	api := s.publicAPI(nil)
	flow, _, err := api.FrontendAPI.CreateNativeRegistrationFlow(ctx).Execute()
	if err != nil {
		return nil, apiError("create native registration flow", err)
	}
	res, _, err := api.FrontendAPI.UpdateRegistrationFlow(ctx).Flow(flow.Id).
		UpdateRegistrationFlowBody(ory.UpdateRegistrationFlowWithPasswordMethodAsUpdateRegistrationFlowBody(
			&ory.UpdateRegistrationFlowWithPasswordMethod{
				Method: "password", Password: password, Traits: map[string]any{"email": email},
			})).Execute()
	if err != nil {
		return nil, apiError("submit native registration flow", err)
	}
	if res.Session == nil || res.SessionToken == nil {
		return nil, errors.New("native registration gave no session (is the session hook configured?)")
	}
	return apiSession(email, *res.Session, *res.SessionToken), nil
}

// LoginAPI signs in through the native (API) login flow and returns the
// session token. For an identity with a second factor the session is aal1
// (whoami answers 403 session_aal2_required).
func (s *Kratos) LoginAPI(ctx context.Context, email, password string) (*APISession, error) {
	api := s.publicAPI(nil)
	flow, _, err := api.FrontendAPI.CreateNativeLoginFlow(ctx).Execute()
	if err != nil {
		return nil, apiError("create native login flow", err)
	}
	res, _, err := api.FrontendAPI.UpdateLoginFlow(ctx).Flow(flow.Id).
		UpdateLoginFlowBody(passwordLogin(email, password)("")).Execute()
	if err != nil {
		return nil, apiError("submit native login flow", err)
	}
	if res.SessionToken == nil {
		return nil, errors.New("native login gave no session token")
	}
	return apiSession(email, res.Session, *res.SessionToken), nil
}

// LogoutAPI ends a native session through the API.
func (s *Kratos) LogoutAPI(ctx context.Context, token string) error {
	_, err := s.publicAPI(nil).FrontendAPI.PerformNativeLogout(ctx).
		PerformNativeLogoutBody(ory.PerformNativeLogoutBody{SessionToken: token}).Execute()
	if err != nil {
		return apiError("native logout", err)
	}
	return nil
}

// RevokeSession revokes one session through the admin API
// (DELETE /admin/sessions/{id}).
func (s *Kratos) RevokeSession(ctx context.Context, sessionID string) error {
	if _, err := s.adminAPI().IdentityAPI.DisableSession(ctx, sessionID).Execute(); err != nil {
		return apiError("revoke session "+sessionID, err)
	}
	return nil
}

// DeleteIdentitySessions revokes every session of an identity through the
// admin API (DELETE /admin/identities/{id}/sessions).
func (s *Kratos) DeleteIdentitySessions(ctx context.Context, identityID string) error {
	if _, err := s.adminAPI().IdentityAPI.DeleteIdentitySessions(ctx, identityID).Execute(); err != nil {
		return apiError("delete sessions of identity "+identityID, err)
	}
	return nil
}

// WhoamiCookie asks GET /sessions/whoami with the session cookie alone.
func (s *Kratos) WhoamiCookie(ctx context.Context, cookie *http.Cookie) (*WhoamiResponse, error) {
	return s.whoami(ctx, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value}) })
}

// WhoamiToken asks GET /sessions/whoami with an X-Session-Token header.
func (s *Kratos) WhoamiToken(ctx context.Context, token string) (*WhoamiResponse, error) {
	return s.whoami(ctx, func(r *http.Request) { r.Header.Set("X-Session-Token", token) })
}

func (s *Kratos) whoami(ctx context.Context, credential func(*http.Request)) (*WhoamiResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.publicURL+"/sessions/whoami", nil)
	if err != nil {
		return nil, fmt.Errorf("whoami: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	credential(req)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("whoami: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("whoami: read body: %w", err)
	}
	var v struct {
		ID     string `json:"id"`
		AAL    string `json:"authenticator_assurance_level"`
		Active bool   `json:"active"`
		Error  struct {
			ID string `json:"id"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("whoami: %s: decode body: %w: %s", resp.Status, err, body)
	}
	return &WhoamiResponse{
		Status: resp.StatusCode, Header: resp.Header, Body: body,
		ErrorID: v.Error.ID, RedirectBrowserTo: v.RedirectBrowserTo,
		SessionID: v.ID, AAL: v.AAL, Active: v.Active,
	}, nil
}

// browser is one browser's HTTP client: a cookie jar, no redirects followed
// (Kratos redirects to the UI, which need not run).
type browser struct {
	s         *Kratos
	jar       http.CookieJar
	hc        *http.Client
	api       *ory.APIClient
	userAgent string // unique, to find this browser's session among the identity's
}

func (s *Kratos) browser(jar http.CookieJar) (*browser, error) {
	if jar == nil {
		j, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("create cookie jar: %w", err)
		}
		jar = j
	}
	hc := &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b := &browser{s: s, jar: jar, hc: hc, api: s.publicAPI(hc), userAgent: "oryguard-e2e/" + rand.Text()}
	b.api.GetConfig().UserAgent = b.userAgent
	return b, nil
}

// login runs a browser login flow created with params and submitted with the
// body that body returns for the flow's CSRF token.
func (b *browser) login(ctx context.Context, email string, params url.Values, body func(csrf string) ory.UpdateLoginFlowBody) (*BrowserSession, error) {
	create := b.api.FrontendAPI.CreateBrowserLoginFlow(ctx)
	for k, vs := range params {
		v := vs[0]
		switch k {
		case "return_to":
			create = create.ReturnTo(v)
		case "aal":
			create = create.Aal(v)
		case "refresh":
			r, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("login parameter refresh=%q: %w", v, err)
			}
			create = create.Refresh(r)
		default:
			return nil, fmt.Errorf("login parameter %q is not supported", k)
		}
	}
	flow, _, err := create.Execute()
	if err != nil {
		return nil, apiError("create browser login flow", err)
	}
	csrf, err := csrfToken(flow.Ui.Nodes)
	if err != nil {
		return nil, fmt.Errorf("browser login flow: %w", err)
	}
	res, resp, err := b.api.FrontendAPI.UpdateLoginFlow(ctx).Flow(flow.Id).UpdateLoginFlowBody(body(csrf)).Execute()
	if err == nil {
		return b.session(email, res.Session, resp)
	}
	// A JSON login of an identity with a second factor succeeds with an aal1
	// session cookie but answers 422 browser_location_change_required.
	redirect := locationChange(err)
	if redirect == "" || resp == nil {
		return nil, apiError("submit browser login flow", err)
	}
	sess, err := b.pendingSession(ctx, email)
	if err != nil {
		return nil, err
	}
	bs, err := b.session(email, sess, resp)
	if err != nil {
		return nil, err
	}
	bs.RedirectBrowserTo = redirect
	return bs, nil
}

// pendingSession finds the session of a login that Kratos did not return:
// the session of the identity whose device has this browser's User-Agent.
func (b *browser) pendingSession(ctx context.Context, email string) (ory.Session, error) {
	admin := b.s.adminAPI()
	ids, _, err := admin.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier(email).Execute()
	if err != nil {
		return ory.Session{}, apiError("find identity "+email, err)
	}
	for _, id := range ids {
		sessions, _, err := admin.IdentityAPI.ListIdentitySessions(ctx, id.Id).Active(true).Execute()
		if err != nil {
			return ory.Session{}, apiError("list sessions of identity "+id.Id, err)
		}
		for _, sess := range sessions {
			for _, d := range sess.Devices {
				if d.UserAgent != nil && *d.UserAgent == b.userAgent {
					if sess.Identity == nil {
						sess.Identity = &id
					}
					return sess, nil
				}
			}
		}
	}
	return ory.Session{}, fmt.Errorf("no session of %s from this browser", email)
}

// locationChange returns redirect_browser_to of a browser_location_change_required error.
func locationChange(err error) string {
	var withBody interface{ Body() []byte }
	if !errors.As(err, &withBody) {
		return ""
	}
	var v struct {
		Error struct {
			ID string `json:"id"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	if json.Unmarshal(withBody.Body(), &v) != nil || v.Error.ID != "browser_location_change_required" {
		return ""
	}
	return v.RedirectBrowserTo
}

// session builds a BrowserSession from a flow's answer and its cookies.
func (b *browser) session(email string, sess ory.Session, resp *http.Response) (*BrowserSession, error) {
	bs := &BrowserSession{Email: email, SessionID: sess.Id, Jar: b.jar}
	if sess.Identity != nil {
		bs.IdentityID = sess.Identity.Id
	}
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookieName {
			bs.Cookie = c
		}
	}
	if bs.Cookie == nil {
		return nil, fmt.Errorf("kratos set no %s cookie", SessionCookieName)
	}
	return bs, nil
}

func (s *Kratos) publicAPI(hc *http.Client) *ory.APIClient {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return newAPI(s.publicURL, hc)
}

func (s *Kratos) adminAPI() *ory.APIClient {
	return newAPI(s.adminURL, &http.Client{Timeout: 30 * time.Second})
}

func newAPI(base string, hc *http.Client) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: base}}
	cfg.HTTPClient = hc
	return ory.NewAPIClient(cfg)
}

func passwordLogin(email, password string) func(csrf string) ory.UpdateLoginFlowBody {
	return func(csrf string) ory.UpdateLoginFlowBody {
		m := &ory.UpdateLoginFlowWithPasswordMethod{Method: "password", Identifier: email, Password: password}
		if csrf != "" {
			m.CsrfToken = &csrf
		}
		return ory.UpdateLoginFlowWithPasswordMethodAsUpdateLoginFlowBody(m)
	}
}

func apiSession(email string, sess ory.Session, token string) *APISession {
	as := &APISession{Email: email, SessionID: sess.Id, Token: token}
	if sess.Identity != nil {
		as.IdentityID = sess.Identity.Id
	}
	return as
}

func csrfToken(nodes []ory.UiNode) (string, error) {
	for _, n := range nodes {
		if in := n.Attributes.UiNodeInputAttributes; in != nil && in.Name == "csrf_token" {
			if v, ok := in.Value.(string); ok && v != "" {
				return v, nil
			}
		}
	}
	return "", errors.New("no csrf_token node")
}

// apiError wraps a client-go error and quotes the body Kratos answered with.
func apiError(op string, err error) error {
	var withBody interface{ Body() []byte }
	if errors.As(err, &withBody) && len(withBody.Body()) > 0 {
		body := withBody.Body()
		if len(body) > 2000 {
			body = body[:2000]
		}
		return fmt.Errorf("%s: %w: %s", op, err, body)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// closeBody closes a response body that client-go has already read.
func closeBody(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}
