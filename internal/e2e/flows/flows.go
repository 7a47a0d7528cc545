package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// Hop is one answer to a browser request, not followed further.
type Hop struct {
	Status   int
	Location string
	Header   http.Header
	Body     []byte
}

// String describes the hop for test messages.
func (h *Hop) String() string {
	body := string(h.Body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return fmt.Sprintf("%d Location=%q body=%q", h.Status, h.Location, body)
}

// browserClient sends jar's cookies, stores the cookies answers set, and
// follows no redirect.
func browserClient(jar http.CookieJar) *http.Client {
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func do(jar http.CookieJar, req *http.Request) (*Hop, error) {
	resp, err := browserClient(jar).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	return &Hop{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: body}, nil
}

// Follow GETs rawURL as a browser does after a redirect: Accept text/html,
// the jar's cookies, no redirect followed. Cookies the answer sets go into
// jar.
func Follow(ctx context.Context, jar http.CookieJar, rawURL string) (*Hop, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("follow %q: %w", rawURL, err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return do(jar, req)
}

// FollowCookies is Follow for a browser whose cookies are given as a
// Cookie header (for example two cookies of one name, which a jar cannot
// hold for one host and path); cookies the answer sets are dropped.
func FollowCookies(ctx context.Context, cookie, rawURL string) (*Hop, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("follow %q: %w", rawURL, err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Cookie", cookie)
	return do(nil, req)
}

// Flow is what the suite checks of a Kratos login flow
// (GET /self-service/login/flows?id=).
type Flow struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	RequestURL   string `json:"request_url"`
	ReturnTo     string `json:"return_to"`
	Refresh      bool   `json:"refresh"`
	RequestedAAL string `json:"requested_aal"`
	State        string `json:"state"`
	UI           struct {
		Action string `json:"action"`
		Method string `json:"method"`
		Nodes  []struct {
			Group      string `json:"group"`
			Attributes struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Value any    `json:"value"`
			} `json:"attributes"`
		} `json:"nodes"`
		Messages []struct {
			ID   int    `json:"id"`
			Text string `json:"text"`
		} `json:"messages"`
	} `json:"ui"`
}

// Methods lists the login methods the flow offers (its node groups other
// than "default"), in order.
func (f *Flow) Methods() []string {
	var out []string
	for _, n := range f.UI.Nodes {
		if n.Group != "default" && !contains(out, n.Group) {
			out = append(out, n.Group)
		}
	}
	return out
}

// input returns the value of the flow's input node called name.
func (f *Flow) input(name string) string {
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == name {
			if s, ok := n.Attributes.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FlowID returns the flow id of a hop that sent the browser to the login
// page of the UI at uiURL (uiURL + "/login?flow=<id>").
func FlowID(h *Hop, uiURL string) (string, error) {
	if h.Status != http.StatusSeeOther {
		return "", fmt.Errorf("want 303 to the login UI, got %s", h)
	}
	u, err := url.Parse(h.Location)
	if err != nil {
		return "", fmt.Errorf("login UI location %q: %w", h.Location, err)
	}
	if !strings.HasPrefix(h.Location, uiURL+"/login?") || u.Query().Get("flow") == "" {
		return "", fmt.Errorf("want 303 to %s/login?flow=<id>, got %s", uiURL, h)
	}
	return u.Query().Get("flow"), nil
}

// LoginFlow reads login flow id from Kratos with the jar's cookies (Kratos
// wants the flow's CSRF cookie for a browser flow).
func LoginFlow(ctx context.Context, jar http.CookieJar, publicURL, id string) (*Flow, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, publicURL+"/self-service/login/flows?id="+url.QueryEscape(id), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	h, err := do(jar, req)
	if err != nil {
		return nil, err
	}
	if h.Status != http.StatusOK {
		return nil, fmt.Errorf("get login flow %s: %s", id, h)
	}
	var f Flow
	if err := json.Unmarshal(h.Body, &f); err != nil {
		return nil, fmt.Errorf("decode login flow %s: %w", id, err)
	}
	return &f, nil
}

// SubmitLoginFlow posts the flow's form as a browser does
// (application/x-www-form-urlencoded, with the flow's csrf_token and
// fields) and returns Kratos' answer, not followed: 303 to the flow's
// return_to with a new session cookie (stored in jar) when it succeeds.
func SubmitLoginFlow(ctx context.Context, jar http.CookieJar, f *Flow, fields url.Values) (*Hop, error) {
	form := url.Values{}
	for k, vs := range fields {
		form[k] = append([]string(nil), vs...)
	}
	csrf := f.input("csrf_token")
	if csrf == "" {
		return nil, errors.New("login flow has no csrf_token")
	}
	form.Set("csrf_token", csrf)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.UI.Action, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return do(jar, req)
}

// SessionCookie returns the session cookie of the jar for Kratos at
// publicURL, or nil.
func SessionCookie(jar http.CookieJar, publicURL string) *http.Cookie {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil
	}
	for _, c := range jar.Cookies(u) {
		if c.Name == harness.SessionCookieName {
			return c
		}
	}
	return nil
}

// CookieHeader renders the jar's cookies for rawURL as a Cookie header
// value: what the browser sends to a page on that host.
func CookieHeader(jar http.CookieJar, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// SessionInfo is what the suite reads from a whoami answer.
type SessionInfo struct {
	ID              string    `json:"id"`
	Active          bool      `json:"active"`
	AAL             string    `json:"authenticator_assurance_level"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	Identity        struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Traits struct {
			Email string `json:"email"`
		} `json:"traits"`
		VerifiableAddresses []struct {
			Value    string `json:"value"`
			Via      string `json:"via"`
			Verified bool   `json:"verified"`
			Status   string `json:"status"`
		} `json:"verifiable_addresses"`
	} `json:"identity"`
}

// ParseSession decodes a 200 whoami answer.
func ParseSession(w *harness.WhoamiResponse) (*SessionInfo, error) {
	if w.Status != http.StatusOK {
		return nil, fmt.Errorf("whoami answered %d: %s", w.Status, w.Body)
	}
	var s SessionInfo
	if err := json.Unmarshal(w.Body, &s); err != nil {
		return nil, fmt.Errorf("decode whoami session: %w", err)
	}
	return &s, nil
}

// SetIdentityState sets an identity's state ("active" or "inactive")
// through Kratos' admin API (PATCH /admin/identities/{id}, JSON Patch).
func SetIdentityState(ctx context.Context, adminURL, identityID, state string) error {
	body, _ := json.Marshal([]map[string]string{{"op": "replace", "path": "/state", "value": state}})
	return admin(ctx, http.MethodPatch, adminURL+"/admin/identities/"+url.PathEscape(identityID), body, http.StatusOK)
}

// VerifyAddresses marks every verifiable address of an identity as
// verified through Kratos' admin API (PATCH /admin/identities/{id}, JSON
// Patch on verifiable_addresses), as an admin or an out-of-band
// verification would. n is how many addresses the identity has.
func VerifyAddresses(ctx context.Context, adminURL, identityID string, n int) error {
	var patch []map[string]any
	for i := range n {
		at := "/verifiable_addresses/" + strconv.Itoa(i)
		patch = append(patch,
			map[string]any{"op": "replace", "path": at + "/verified", "value": true},
			map[string]any{"op": "replace", "path": at + "/status", "value": "completed"})
	}
	body, _ := json.Marshal(patch)
	return admin(ctx, http.MethodPatch, adminURL+"/admin/identities/"+url.PathEscape(identityID), body, http.StatusOK)
}

// ExtendSession extends a session through Kratos' admin API
// (PATCH /admin/sessions/{id}/extend): its expires_at moves forward and
// Kratos re-issues the session cookie on the next whoami.
func ExtendSession(ctx context.Context, adminURL, sessionID string) error {
	return admin(ctx, http.MethodPatch, adminURL+"/admin/sessions/"+url.PathEscape(sessionID)+"/extend", nil, http.StatusOK)
}

func admin(ctx context.Context, method, rawURL string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	h, err := do(nil, req)
	if err != nil {
		return err
	}
	if h.Status != want {
		return fmt.Errorf("%s %s: want %d, got %s", method, rawURL, want, h)
	}
	return nil
}
