package browser_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// Environment variables: ChromiumEnv overrides the Chromium binary;
// FrameworkEnv picks another example app than gin (echo, echov5, fiber,
// fiberv3, nethttp: a directory under examples/).
const (
	ChromiumEnv  = "ORYGUARD_CHROMIUM"
	FrameworkEnv = "ORYGUARD_BROWSER_APP"
)

const (
	defaultChromium = "/usr/bin/chromium"
	password        = "correct-horse-battery-staple-42"
)

// TestDemo signs up, re-authenticates and logs out in the Gin example app
// (or the one $ORYGUARD_BROWSER_APP names), in headless Chromium, against a
// real Kratos.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	chromium := chromiumBinary(t)
	root := repoRoot(t)
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)

	// The app's port comes first: Kratos must know where its UI pages are.
	port := freePort(t)
	appURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	ory := harness.StartKratosT(t, harness.KratosOptions{UIURL: appURL, DefaultReturnURL: appURL + "/dashboard"})
	framework := os.Getenv(FrameworkEnv)
	if framework == "" {
		framework = "gin"
	}
	startApp(ctx, t, root, framework, ory.PublicURL(), "127.0.0.1", port)
	t.Logf("kratos and app up after %s", time.Since(began).Round(time.Millisecond))
	b := newBrowser(ctx, t, chromium)

	const email = "ada@example.com" // Kratos keeps its data in memory: a fresh store per test

	// Sign up: /registration starts a flow at Kratos and comes back with ?flow=.
	b.do("open the registration page", chromedp.Navigate(appURL+"/registration"))
	b.waitPath("/registration")
	b.do("fill in the registration form",
		chromedp.SendKeys(chromedp.CSS(`input[name="traits.email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[name="method"][value="password"]`)),
	)
	b.waitPath("/dashboard")
	b.wantText("#email", email)
	signedUpAt := b.timeAttr("#authenticated-at", "datetime")

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot the dashboard: %v", err)
	}
	artifact := filepath.Join(root, "artifacts", "dashboard.png")
	if err := os.MkdirAll(filepath.Dir(artifact), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(artifact, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", artifact)

	// Re-authenticate: the dashboard's link goes to a refresh=true login flow
	// that asks for the password only.
	b.do("click refresh session", chromedp.Click(chromedp.ID("refresh")))
	b.waitPath("/login")
	b.wantText("h1", "Confirm it's you")
	b.do("re-enter the password",
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[name="method"][value="password"]`)),
	)
	b.waitPath("/dashboard")
	b.wantText("#email", email)
	if refreshedAt := b.timeAttr("#authenticated-at", "datetime"); !refreshedAt.After(signedUpAt) {
		t.Errorf("authenticated_at after re-authentication = %s, want later than %s", refreshedAt, signedUpAt)
	}

	// Log out: Kratos ends the session and sends the browser to /login.
	b.do("click log out", chromedp.Click(chromedp.ID("logout")))
	b.waitPath("/login")
	b.wantText("h1", "Sign in")

	// The dashboard now sends the browser to sign in, and back afterwards.
	b.do("open the dashboard", chromedp.Navigate(appURL+"/dashboard"))
	b.waitPath("/login")
	b.do("sign in again",
		chromedp.SendKeys(chromedp.CSS(`input[name="identifier"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[name="method"][value="password"]`)),
	)
	b.waitPath("/dashboard")
	b.wantText("#email", email)
	t.Logf("browser test took %s", time.Since(began).Round(time.Millisecond))
}

// chromiumBinary finds Chromium; a missing binary fails the test.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv(ChromiumEnv)
	if path == "" {
		path = defaultChromium
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium not found at %s (%v): install it (Debian: apt-get install -y chromium) or set %s; "+
			"`go test -short` skips this test", path, err, ChromiumEnv)
	}
	return path
}

// repoRoot is the repository's root, where examples/ and artifacts/ are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// lockedBuffer collects a subprocess's output for the failure log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startApp builds examples/<framework>, starts it on host:port against Ory
// and waits until it answers. The process is stopped when the test ends.
func startApp(ctx context.Context, t *testing.T, root, framework, oryURL, host string, port int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), framework+"-example")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+framework)
	build.Dir = filepath.Join(root, "examples") // works with and without the workspace
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/%s: %v\n%s", framework, err, out)
	}

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APP_URL=") {
			env = append(env, kv)
		}
	}
	var out lockedBuffer
	cmd := exec.Command(bin)
	cmd.Env = append(env, "ORY_SDK_URL="+oryURL, "LISTEN_HOST="+host, fmt.Sprintf("PORT=%d", port), "GIN_MODE=release")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the example app: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("example app output:\n%s", out.String())
		}
	})

	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(fmt.Sprintf("http://%s/", net.JoinHostPort(host, strconv.Itoa(port))))
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("the example app exited before it answered:\n%s", out.String())
		case <-ctx.Done():
			t.Fatalf("the example app did not answer: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example app did not answer within 30s (last error %v):\n%s", err, out.String())
		}
	}
}

// browser is one headless Chromium tab with test helpers.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(ctx context.Context, t *testing.T, chromium string) *browser {
	t.Helper()
	var out lockedBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1100, 820),
		chromedp.CombinedOutput(&out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(tabCtx), 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("close chromium: %v", err)
		}
		cancelTab()
		cancelAlloc() // waits for the process to exit
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	// Start the browser now, so a broken Chromium fails here.
	if err := chromedp.Do(tabCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium %s: %v\n%s", chromium, err, out.String())
	}
	return &browser{t: t, ctx: tabCtx}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// waitPath waits until the tab shows a page at path (after any redirects)
// and the page has loaded.
func (b *browser) waitPath(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	var last string
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil {
			last = loc
			if u, err := url.Parse(loc); err == nil && u.Path == path {
				state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
				if err == nil && state == "complete" {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			b.fatalf("waiting for %s: still at %s", path, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fatalf("read %s: %v", sel, err)
	}
	if strings.TrimSpace(got) != want {
		b.fatalf("%s = %q, want %q", sel, got, want)
	}
}

func (b *browser) timeAttr(sel, name string) time.Time {
	b.t.Helper()
	a, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !a.Exists {
		b.fatalf("read %s[%s]: exists=%v err=%v", sel, name, a.Exists, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, a.Value)
	if err != nil {
		b.fatalf("%s[%s]: %v", sel, name, err)
	}
	return ts
}

// fatalf fails the test with the page's URL and text, which is what one
// needs to see to understand a failed step.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf(format+"\npage %s:\n%s", append(args, loc, text)...)
}
