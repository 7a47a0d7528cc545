package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// TestReturnToEndToEnd sends hostile request targets to the guard, follows
// its login redirect into a real Kratos and completes the login there with a
// browser's form POST: wherever Kratos sends the browser after the login
// must be the app (the UI URL Kratos allows), never another host.
func TestReturnToEndToEnd(t *testing.T) {
	srv := sharedKratos(t)
	const app = "http://127.0.0.1:4455" // the harness's UI URL: Kratos' allowed return URL
	id := email("returnto")
	if _, err := srv.RegisterAPI(t.Context(), id, password); err != nil {
		t.Fatal(err)
	}
	targets := []string{
		"/dashboard?tab=2",
		"//evil.example",
		"//evil.example/x?y=1",
		`/\evil.example`,
		"/%2F%2Fevil.example",
		"/%2Fevil.example",
		"/%5C%5Cevil.example",
		"/%09/evil.example",
		"/.//evil.example",
		"/..//evil.example",
		"/@evil.example",
		"/x@evil.example:80/",
		"http://evil.example/path",
		"https://user:pass@evil.example/",
		"/ok?next=//evil.example",
		"/ok?return_to=https://evil.example",
	}
	for _, appURL := range []string{"", app} {
		g, err := core.New(core.Config{OryURL: srv.PublicURL(), AppURL: appURL})
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			d := g.Route().Authenticate(t.Context(), &core.Request{Method: "GET", URI: target, Accept: "text/html"})
			if d.Status != http.StatusSeeOther {
				t.Fatalf("%q: %d", target, d.Status)
			}
			returnTo := mustQuery(t, d.Header.Get("Location")).Get("return_to")
			final, err := loginWithForm(t.Context(), srv, d.Header.Get("Location"), id, password)
			if err != nil {
				t.Errorf("AppURL %q, target %q (return_to %q): %v", appURL, target, returnTo, err)
				continue
			}
			u, err := url.Parse(final)
			if err != nil || u.Scheme+"://"+u.Host != app {
				t.Errorf("AppURL %q, target %q: return_to %q led Kratos to send the browser to %q, outside the app", appURL, target, returnTo, final)
				continue
			}
			t.Logf("AppURL %-22q target %-36q return_to %-45q → after login %s", appURL, target, returnTo, final)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return u.Query()
}

// loginWithForm plays a browser: it opens loginURL (Kratos' browser login
// flow), reads the flow, posts the password form and returns the Location
// Kratos redirects to afterwards.
func loginWithForm(ctx context.Context, srv *harness.Kratos, loginURL, identifier, password string) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) (*http.Response, []byte, error) {
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, body, err
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, loginURL, nil)
	req.Header.Set("Accept", "text/html")
	resp, body, err := do(req)
	if err != nil {
		return "", err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Query().Get("flow") == "" {
		return "", fmt.Errorf("create login flow: %s Location=%q %s", resp.Status, resp.Header.Get("Location"), body)
	}
	if !strings.HasSuffix(loc.Path, "/login") {
		return "", fmt.Errorf("Kratos refused the flow: Location %q", loc)
	}

	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.PublicURL()+"/self-service/login/flows?id="+url.QueryEscape(loc.Query().Get("flow")), nil)
	req.Header.Set("Accept", "application/json")
	resp, body, err = do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get login flow: %w (status %v) %s", err, resp.Status, body)
	}
	var flow struct {
		UI struct {
			Action string `json:"action"`
			Nodes  []struct {
				Attributes struct {
					Name  string `json:"name"`
					Value any    `json:"value"`
				} `json:"attributes"`
			} `json:"nodes"`
		} `json:"ui"`
	}
	if err := json.Unmarshal(body, &flow); err != nil {
		return "", fmt.Errorf("decode login flow: %w", err)
	}
	form := url.Values{"method": {"password"}, "identifier": {identifier}, "password": {password}}
	for _, n := range flow.UI.Nodes {
		if v, ok := n.Attributes.Value.(string); ok && n.Attributes.Name == "csrf_token" {
			form.Set("csrf_token", v)
		}
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, flow.UI.Action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, body, err = do(req)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("submit login: %s %s", resp.Status, body)
	}
	return resp.Header.Get("Location"), nil
}
