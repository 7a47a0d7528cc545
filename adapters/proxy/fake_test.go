package oryproxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// seen is one request the fake Ory received.
type seen struct {
	Method, Path, RawPath, Query, Host string
	Header                             http.Header
	Body                               string
}

// fakeOry is an httptest server standing in for Ory: it records every
// request that reaches it and answers with handle (200 "ok" when nil).
type fakeOry struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seen
	handle http.HandlerFunc
}

func newFakeOry(t *testing.T, handle http.HandlerFunc) *fakeOry {
	t.Helper()
	f := &fakeOry{handle: handle}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seen{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header.Clone(), Body: string(b),
		})
		f.mu.Unlock()
		if f.handle == nil {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "ok")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.handle(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOry) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

// logBuffer collects log output safely.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) lines() int { return strings.Count(l.String(), "\n") }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// newProxy builds a proxy for tests; cfg's OryURL and AppURL default to
// the fake and https://app.example.
func newProxy(t *testing.T, f *fakeOry, cfg Config) (*Proxy, *logBuffer) {
	t.Helper()
	if cfg.OryURL == "" && f != nil {
		cfg.OryURL = f.URL
	}
	if cfg.AppURL == "" {
		cfg.AppURL = "https://app.example"
	}
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = logs.logger()
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, logs
}

// do serves one request through the proxy.
func do(p http.Handler, method, target string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	w := newRecorder()
	p.ServeHTTP(w, httptestRequest(method, target, body, header))
	return w
}

// httptestRequest is a request as a server would receive it, with header.
func httptestRequest(method, target string, body io.Reader, header http.Header) *http.Request {
	r := httptest.NewRequest(method, target, body)
	for k, vs := range header {
		r.Header[k] = vs
	}
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// roundTripFunc is a Transport answering with whatever a test builds,
// for responses a real server cannot send (CR/LF in a header).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
