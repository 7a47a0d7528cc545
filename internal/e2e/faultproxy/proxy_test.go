package faultproxy_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oryguard/oryguard/internal/e2e/faultproxy"
)

const upstreamBody = `{"id":"upstream-session","active":true}`

func newProxy(t *testing.T) (*faultproxy.Proxy, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-Path", r.URL.Path)
		_, _ = io.WriteString(w, upstreamBody)
	}))
	t.Cleanup(up.Close)
	p, err := faultproxy.New(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, &hits
}

type got struct {
	status int
	header http.Header
	body   string
	err    error
	took   time.Duration
}

func get(p *faultproxy.Proxy, timeout time.Duration) got {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := c.Get(p.URL() + "/sessions/whoami")
	if err != nil {
		return got{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return got{status: resp.StatusCode, header: resp.Header, body: string(b), err: err, took: time.Since(start)}
}

func TestModes(t *testing.T) {
	p, hits := newProxy(t)

	g := get(p, 2*time.Second)
	if g.err != nil || g.status != 200 || g.body != upstreamBody || g.header.Get("X-Upstream-Path") != "/sessions/whoami" {
		t.Fatalf("pass: %+v", g)
	}

	check(t, p.Set(faultproxy.Refuse()))
	if g := get(p, 2*time.Second); !errors.Is(g.err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse: %+v", g)
	}
	check(t, p.Set(faultproxy.Pass()))
	if g := get(p, 2*time.Second); g.err != nil || g.status != 200 {
		t.Fatalf("pass after refuse: %+v", g)
	}

	check(t, p.Set(faultproxy.Hang()))
	if g := get(p, 200*time.Millisecond); g.err == nil || !strings.Contains(g.err.Error(), "Timeout") {
		t.Fatalf("hang: %+v", g)
	}

	check(t, p.Set(faultproxy.Slow(150*time.Millisecond)))
	if g := get(p, 2*time.Second); g.err != nil || g.status != 200 || g.took < 150*time.Millisecond {
		t.Fatalf("slow: %+v", g)
	}

	check(t, p.Set(faultproxy.Lag(150*time.Millisecond)))
	before := hits.Load()
	answers := p.UpstreamAnswers()
	var observed atomic.Int64
	p.Observe(func(req *http.Request, resp *http.Response, body []byte) {
		if req.URL.Path == "/sessions/whoami" && resp.StatusCode == 200 && string(body) == upstreamBody {
			observed.Add(1)
		}
	})
	if g := get(p, 2*time.Second); g.err != nil || g.status != 200 || g.took < 150*time.Millisecond || hits.Load() != before+1 {
		t.Fatalf("lag: %+v", g)
	}
	if p.UpstreamAnswers() != answers+1 || observed.Load() != 1 {
		t.Fatalf("lag: %d upstream answers counted, %d observed", p.UpstreamAnswers()-answers, observed.Load())
	}
	p.Observe(nil)

	check(t, p.Set(faultproxy.Drip(5*time.Millisecond)))
	if g := get(p, 2*time.Second); g.err != nil || g.body != upstreamBody || g.took < time.Duration(len(upstreamBody))*5*time.Millisecond {
		t.Fatalf("drip: %+v", g)
	}
	if g := get(p, 50*time.Millisecond); g.err == nil {
		t.Fatalf("drip within 50ms: %+v", g)
	}

	check(t, p.Set(faultproxy.Status(503, nil)))
	before = hits.Load()
	if g := get(p, 2*time.Second); g.status != 503 || hits.Load() != before {
		t.Fatalf("status: %+v (upstream asked: %v)", g, hits.Load() != before)
	}

	check(t, p.Set(faultproxy.TooManyRequests("7")))
	if g := get(p, 2*time.Second); g.status != 429 || g.header.Get("Retry-After") != "7" {
		t.Fatalf("429: %+v", g)
	}

	check(t, p.Set(faultproxy.Cut()))
	if g := get(p, 2*time.Second); !errors.Is(g.err, io.ErrUnexpectedEOF) || g.status != 200 || len(g.body) != len(upstreamBody)/2 {
		t.Fatalf("cut: %+v", g)
	}

	check(t, p.Set(faultproxy.Garbage()))
	if g := get(p, 2*time.Second); g.status != 200 || !strings.HasPrefix(g.body, `{"id": "garbage"`) {
		t.Fatalf("garbage: %+v", g)
	}

	if p.RequestsTo("/sessions/whoami") != p.Requests() || p.Requests() < 10 {
		t.Fatalf("counted %d requests, %d to whoami", p.Requests(), p.RequestsTo("/sessions/whoami"))
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	p, _ := newProxy(t)
	check(t, p.Set(faultproxy.Hang()))
	done := make(chan got, 1)
	go func() { done <- get(p, 10*time.Second) }()
	for p.Requests() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	check(t, p.Close())
	select {
	case g := <-done:
		if g.err == nil {
			t.Fatalf("hanging request answered: %+v", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left a hanging request hanging")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Close was slow")
	}
	if err := p.Set(faultproxy.Pass()); err == nil {
		t.Fatal("Set after Close succeeded")
	}
}

func TestRefuseClosesOpenConnections(t *testing.T) {
	p, _ := newProxy(t)
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(p.URL() + "/x")
	check(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close() // the connection is now idle in c's pool
	check(t, p.Set(faultproxy.Refuse()))
	if resp, err := c.Get(p.URL() + "/x"); err == nil {
		resp.Body.Close()
		t.Fatalf("a kept-alive connection still reached the proxy while refusing: %s", resp.Status)
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
