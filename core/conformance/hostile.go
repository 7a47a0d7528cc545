package conformance

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Hostile input on a real server, bytes as written on the wire: the
// fasthttp servers (Fiber) parse request targets and headers differently
// from net/http's, so each target is checked on its own listener
// (Target.Listen), not through Server.

// hostileTargets are request targets that must never lead return_to off
// the app: open-redirect shapes, encoded slashes and backslashes, header
// injection, dot segments, and absolute forms with a foreign host.
var hostileTargets = []string{
	"/dash?x=1", "//evil.example/x", "///evil.example", "/%2F%2Fevil.example", "/%5C%5Cevil.example",
	"http://evil.example/dash?x=1", "http://user:pass@evil.example/dash", "/@evil.example", `/\evil.example`,
	"/x%0D%0ALocation:%20http://evil.example", "/ok?next=//evil.example", "/./evil.example", "/../evil.example",
}

// spoofedHosts are headers that claim another host or scheme; the guard
// must ignore them all.
var spoofedHosts = []string{
	"X-Forwarded-Host: evil.example", "X-Forwarded-Proto: https", "Forwarded: host=evil.example", "X-Original-URL: //evil.example/x",
}

// hostileHeaders are credential headers that must never reach Ory:
// oversized, with control or invalid bytes, or of the wrong scheme; and
// planted login-loop markers, on a fetch and on a plain request, which
// must neither show the login-loop page nor get a cookie.
func hostileHeaders() [][]string {
	const ck = "Cookie: " + kratosCookie + "="
	return [][]string{
		{ck + strings.Repeat("a", core.MaxCredentialLength+1)},
		{ck + "a\x00b"},
		{ck + "abc\xff\xfe"},
		{"Cookie: ory_session_a\x01b=value"},
		{"X-Session-Token: " + strings.Repeat("t", 8<<10)},
		{"X-Session-Token: a b"},
		{"Authorization: Bearer \xc3\x28"},
		{"Authorization: Basic Z29vZDpnb29k"},
		{"Cookie: big=" + strings.Repeat("a", 2<<20)},
		{"Cookie: oryguard_login_loop=9999999999.AAAAAAAAAAAAAAAAAAAAAA", "Sec-Fetch-Mode: cors", "Sec-Fetch-Site: cross-site"},
		{"Cookie: __Host-oryguard_login_loop=garbage; oryguard_login_loop=garbage"},
	}
}

// runHostile sends hostile request targets, spoofed host headers and
// hostile credential headers to each target's short form on a real
// server. return_to never leads off the app, no hostile credential
// reaches Ory, no denial sets a cookie (none of them is a page load
// coming back from another site), and the protected handler never runs.
// A server may refuse a
// request it will not parse (4xx, or hang up) or, for an absolute-form
// target (which fasthttp rewrites), answer 303 with a same-app return_to.
func runHostile(t *testing.T, targets []Target) {
	t.Helper()
	t.Run("hostile input on a real server", func(t *testing.T) {
		ory := orytest.NewServer()
		t.Cleanup(ory.Close)
		guard, err := core.New(core.Config{OryURL: ory.URL, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("core.New: %v", err)
		}
		for _, tg := range targets {
			t.Run(strings.ReplaceAll(tg.Name(), "/", ""), func(t *testing.T) {
				ory.Reset()
				probe := &Probe{}
				addr := tg.Listen(t, guard, probe)
				for _, target := range hostileTargets {
					t.Run("target "+target, func(t *testing.T) {
						checkHostileTarget(t, addr, target, ory.URL)
					})
				}
				for _, h := range hostileHeaders() {
					t.Run("header "+strings.ToValidUTF8(truncate(h[0], 40), "?"), func(t *testing.T) {
						checkHostileHeader(t, addr, h)
					})
				}
				if runs, calls := probe.Take().Runs, ory.Calls(); runs != 0 || calls != 0 {
					t.Fatalf("protected handler ran %d times, Ory was asked %d times", runs, calls)
				}
			})
		}
	})
}

func checkHostileTarget(t *testing.T, addr, target, oryURL string) {
	resp := sendRaw(t, addr, rawGET(target, append([]string{"Accept: text/html"}, spoofedHosts...)...))
	if resp == nil {
		return // refused by the server before any handler ran
	}
	noCookie(t, resp)
	if rt, _ := returnTo(resp, oryURL); target == "/dash?x=1" && rt != target {
		t.Errorf("plain target: %d, return_to %q", resp.StatusCode, rt)
	}
	switch {
	case resp.StatusCode == http.StatusSeeOther:
		if rt, ok := returnTo(resp, oryURL); !ok || !onApp(rt) {
			t.Errorf("Location %q (return_to %q)", resp.Header.Get("Location"), rt)
		}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
	case resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusPermanentRedirect || resp.StatusCode == http.StatusTemporaryRedirect:
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) {
			t.Errorf("redirected to %q", loc)
		}
	default:
		t.Errorf("status %d", resp.StatusCode)
	}
}

func checkHostileHeader(t *testing.T, addr string, h []string) {
	resp := sendRaw(t, addr, rawGET("/private", append([]string{"Accept: text/html"}, h...)...))
	if resp == nil {
		return // refused by the server before any handler ran
	}
	noCookie(t, resp)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// noCookie fails when a denial sets a cookie.
func noCookie(t *testing.T, resp *rawAnswer) {
	t.Helper()
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("status %d sets cookies %q", resp.StatusCode, sc)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// rawAnswer is what a server answered to a raw request.
type rawAnswer struct {
	StatusCode int
	Header     http.Header
}

// sendRaw sends request as written on a new connection and reads the
// answer; nil when the server hung up on it.
func sendRaw(t *testing.T, addr, request string) *rawAnswer {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return nil
		}
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		t.Fatalf("read answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &rawAnswer{StatusCode: resp.StatusCode, Header: resp.Header}
}

func rawGET(target string, headers ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: app.example\r\n" + strings.Join(append(headers, "Connection: close"), "\r\n") + "\r\n\r\n"
}

// returnTo reads return_to from a 303 to Ory's login flow.
func returnTo(resp *rawAnswer, oryURL string) (string, bool) {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != oryURL+loginFlow || len(resp.Header.Values("Location")) != 1 {
		return "", false
	}
	return loc.Query().Get("return_to"), true
}

// onApp reports whether a relative return_to can only lead to the app.
func onApp(rt string) bool {
	if strings.ContainsAny(rt, "\r\n\t\\\x00") || !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") {
		return false
	}
	u, err := url.Parse(rt)
	return err == nil && u.Host == "" && u.Scheme == "" && u.User == nil
}
