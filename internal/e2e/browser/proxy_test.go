package browser_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// proxyAppHost is the example app's site in TestProxyDemo; Kratos listens
// on 127.0.0.1, another site (cookies ignore ports, so two ports on one
// address would prove nothing).
const proxyAppHost = "127.0.0.2"

// TestProxyDemo runs the Gin example app (or the one $ORYGUARD_BROWSER_APP
// names) on 127.0.0.2 and Kratos on 127.0.0.1, and in headless Chromium,
// through the app's origin only (its in-app Ory proxy under /.ory),
// follows the guard to the login page, registers, opens the dashboard and
// logs out. Chromium never sends a request to Kratos' host, and the
// session cookie it holds is the app's. The proxied login page's
// screenshot is saved as artifacts/proxy-login.png.
func TestProxyDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	chromium := chromiumBinary(t)
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)

	ln, err := net.Listen("tcp", proxyAppHost+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", proxyAppHost, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // the app takes the port
	appURL := fmt.Sprintf("http://%s:%d", proxyAppHost, port)
	proxied := appURL + "/.ory"
	ory := harness.StartKratosT(t, harness.KratosOptions{
		UIURL:             appURL,
		DefaultReturnURL:  appURL + "/dashboard",
		AllowedReturnURLs: []string{appURL},
	})
	oryURL, err := url.Parse(ory.PublicURL())
	if err != nil || oryURL.Hostname() == proxyAppHost {
		t.Fatalf("Kratos at %s (%v) must be on another site than the app", ory.PublicURL(), err)
	}
	framework := os.Getenv(FrameworkEnv)
	if framework == "" {
		framework = "gin"
	}
	startApp(ctx, t, root, framework, ory.PublicURL(), proxyAppHost, port)
	b := newBrowser(ctx, t, chromium)

	// Record the host of every request Chromium sends.
	var mu sync.Mutex
	hosts := map[string]int{}
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			if u, err := url.Parse(e.Request.URL); err == nil && u.Host != "" {
				mu.Lock()
				hosts[u.Hostname()]++
				mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}

	// The dashboard sends an anonymous browser to log in: the guard's 303
	// goes to the proxy, Kratos' to the app's /login page, whose form posts
	// to the proxy.
	b.do("open the dashboard", chromedp.Navigate(appURL+"/dashboard"))
	b.waitPath("/login")
	b.wantText("h1", "Sign in")
	b.wantAction(proxied + "/self-service/login?")
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot the login page: %v", err)
	}
	artifact := filepath.Join(root, "artifacts", "proxy-login.png")
	if err := os.MkdirAll(filepath.Dir(artifact), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(artifact, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("proxied login page screenshot: %s", artifact)

	const email = "proxy-ada@example.com"
	b.do("open the registration page", chromedp.Navigate(appURL+"/registration"))
	b.waitPath("/registration")
	b.wantAction(proxied + "/self-service/registration?")
	b.do("fill in the registration form",
		chromedp.SendKeys(chromedp.CSS(`input[name="traits.email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[name="method"][value="password"]`)),
	)
	b.waitPath("/dashboard")
	b.wantText("#email", email)

	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{appURL + "/", ory.PublicURL() + "/"}})
	if err != nil {
		t.Fatalf("read cookies: %v", err)
	}
	var onApp bool
	for _, c := range cookies.Cookies {
		if c.Domain != proxyAppHost {
			t.Errorf("cookie %s is for %q, not the app's host", c.Name, c.Domain)
		}
		if c.Name == "ory_kratos_session" && c.Domain == proxyAppHost {
			onApp = true
		}
	}
	if !onApp {
		t.Fatal("Chromium holds no session cookie for the app's host")
	}

	// Log out: the guard's 303 goes to Kratos' logout URL on the proxy,
	// and Kratos sends the browser back to the app's login page.
	b.do("click log out", chromedp.Click(chromedp.ID("logout")))
	b.waitPath("/login")
	b.wantText("h1", "Sign in")
	b.do("open the dashboard", chromedp.Navigate(appURL+"/dashboard"))
	b.waitPath("/login")

	mu.Lock()
	defer mu.Unlock()
	if hosts[proxyAppHost] == 0 {
		t.Fatal("recorded no request to the app: the network events did not arrive")
	}
	for host, n := range hosts {
		if host != proxyAppHost {
			t.Errorf("Chromium sent %d requests to %s, off the app's origin", n, host)
		}
	}
}

// wantAction checks that the page's flow form posts to a URL starting with
// prefix.
func (b *browser) wantAction(prefix string) {
	b.t.Helper()
	a, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`form[method="POST"], form[method="post"]`), "action"))
	if err != nil || !a.Exists {
		b.fatalf("read the form's action: exists=%v err=%v", a.Exists, err)
	}
	if !strings.HasPrefix(a.Value, prefix) {
		b.fatalf("the form posts to %q, want %s...", a.Value, prefix)
	}
}
