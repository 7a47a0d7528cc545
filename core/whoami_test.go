package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func TestConcurrentLookupLimit(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Delay: 300 * time.Millisecond, Body: mustJSON(orytest.ActiveSession("s", "a@example.com"))})
	g, _ := newGuard(t, ory.URL, func(c *core.Config) { c.MaxConcurrentLookups = 2; c.Timeout = 5 * time.Second })
	var wg sync.WaitGroup
	statuses := make(chan int, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=distinct"+strings.Repeat("x", i)))
			if d.Allow {
				statuses <- 200
				return
			}
			if d.Status == 503 && d.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			statuses <- d.Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 2 || count[503] != 4 {
		t.Fatalf("statuses %v, want 2 allowed and 4 × 503", count)
	}
}

func TestRateLimitBackoff(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"30"}}})
	g, _ := newGuard(t, ory.URL, nil)
	for i := range 10 {
		d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=c"+strings.Repeat("x", i)))
		if d.Status != 429 || d.Header.Get("Retry-After") == "" || d.Header.Get("Location") != "" {
			t.Fatalf("request %d: %d %v", i, d.Status, d.Header)
		}
	}
	if c := ory.Calls(); c != 1 {
		t.Fatalf("%d whoami calls after a 429 with Retry-After: 30, want 1", c)
	}
}

// TestSetCookieIsPrivate: a response that passes on a Set-Cookie from Ory
// (a refreshed session cookie) carries Cache-Control: private, so no
// shared cache stores it.
func TestSetCookieIsPrivate(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Reply("ext", orytest.Reply{Body: mustJSON(orytest.ActiveSession("s1", "a@example.com")),
		Header: http.Header{"Set-Cookie": {"ory_kratos_session=new; Path=/; HttpOnly"}}})
	ory.Session("plain", orytest.ActiveSession("s2", "b@example.com"))
	g, _ := newGuard(t, ory.URL, nil)
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=ext"))
	if !d.Allow || len(d.Header.Values("Set-Cookie")) != 1 || d.Header.Get("Cache-Control") != "private" {
		t.Fatalf("with Set-Cookie: allow=%v header %v, want Cache-Control: private", d.Allow, d.Header)
	}
	d = g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=plain"))
	if !d.Allow || d.Header.Get("Cache-Control") != "" {
		t.Fatalf("without Set-Cookie: header %v, want no Cache-Control (the handler decides)", d.Header)
	}
}

func TestSetCookiePassedOn(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	body := mustJSON(orytest.ActiveSession("s1", "a@example.com"))
	ory.Reply("good", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {
		"ory_kratos_session=renewed; Path=/; HttpOnly", "tracking=1; Path=/",
	}}})
	g, _ := newGuard(t, ory.URL, nil)
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=good"))
	if !d.Allow {
		t.Fatalf("denied %d", d.Status)
	}
	if got := d.Header.Values("Set-Cookie"); len(got) != 1 || got[0] != "ory_kratos_session=renewed; Path=/; HttpOnly" {
		t.Fatalf("Set-Cookie = %q", got)
	}
}

// TestOversizedOryAnswer: a whoami answer larger than the guard reads
// (4 MiB) fails closed with 502 instead of being buffered whole.
func TestOversizedOryAnswer(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	s := orytest.ActiveSession("big", "big@example.com")
	s.Identity.Traits = map[string]any{"email": "big@example.com", "blob": strings.Repeat("x", 5<<20)}
	body, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	ory.Session("big", s)
	// Moving 5 MiB through a -race build on a loaded machine can take longer
	// than newGuard's 300 ms; this test is about the size limit, not time.
	g, logs := newGuard(t, ory.URL, func(c *core.Config) { c.Timeout = 20 * time.Second })
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=big"))
	if d.Allow || d.Status != http.StatusBadGateway || d.Header.Get("Location") != "" {
		t.Fatalf("a %d-byte answer: allow=%v status=%d", len(body), d.Allow, d.Status)
	}
	if !bytes.Contains(logs.Bytes(), []byte("too large")) {
		t.Fatalf("log does not say why: %s", logs.String())
	}
	// Just under the limit is read and used.
	s.Identity.Traits = map[string]any{"email": "big@example.com", "blob": strings.Repeat("x", 3<<20)}
	ory.Session("big", s)
	if d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=big")); !d.Allow {
		t.Fatalf("a 3 MiB answer: %d", d.Status)
	}
}

func TestUnreachableOry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	g, logs := newGuard(t, "http://"+addr, nil)
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=x"))
	if d.Allow || d.Status != 502 || d.Header.Get("Location") != "" {
		t.Fatalf("got allow=%v status=%d location=%q", d.Allow, d.Status, d.Header.Get("Location"))
	}
	if !strings.Contains(logs.String(), "Ory session check failed") {
		t.Fatalf("not logged: %q", logs.String())
	}
}

func TestFailuresAreLoggedWithoutCredentials(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.ReplyAll(&orytest.Reply{Status: 500})
	g, logs := newGuard(t, ory.URL, nil)
	const secret = "super-secret-session-value"
	d := g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session="+secret))
	if d.Status != 502 {
		t.Fatalf("status = %d", d.Status)
	}
	out := logs.String()
	if !strings.Contains(out, "Ory session check failed") || !strings.Contains(out, "ory_status=500") {
		t.Fatalf("missing log line: %q", out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("credential leaked into logs: %q", out)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("want one log line, got %d: %q", n, out)
	}
}
