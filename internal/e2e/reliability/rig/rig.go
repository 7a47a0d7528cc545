// Package rig runs an app protected by oryguard (the net/http adapter) on a
// loopback port for the reliability tests and the soak: it records the
// guard's log lines, counts how often the protected handler ran and sends
// requests the way a browser or an API client would.
package rig

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
)

// LogSink collects log output; it is safe for concurrent use.
type LogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *LogSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines counts the lines logged so far.
func (l *LogSink) Lines() int { return strings.Count(l.String(), "\n") }

// Count counts the lines that contain substr.
func (l *LogSink) Count(substr string) int {
	n := 0
	for line := range strings.Lines(l.String()) {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// Reset forgets what was logged.
func (l *LogSink) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// Paths served by an App.
const (
	PathRequired = "/private" // core's default policy: a session is required
	PathOptional = "/optional"
)

// App is an http.Server whose routes are protected by one Guard.
type App struct {
	Guard *core.Guard
	// Ory is the client the guard calls Ory with.
	Ory *http.Client
	// Logs holds the guard's log lines.
	Logs *LogSink
	// Client sends requests to the app.
	Client *http.Client

	srv     *httptest.Server
	handled atomic.Int64
}

// NewApp builds a guard from cfg (Logger and HTTPClient are filled in when
// nil) and serves PathRequired and PathOptional with it. The handlers answer
// 200 with "session <id>" or "anonymous".
func NewApp(cfg core.Config) (*App, error) {
	a := &App{Logs: &LogSink{}}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(a.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		}}
	}
	a.Ory = cfg.HTTPClient
	g, err := core.New(cfg)
	if err != nil {
		return nil, err
	}
	a.Guard = g
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handled.Add(1)
		if s, ok := oryhttp.Session(r.Context()); ok {
			_, _ = io.WriteString(w, "session "+s.Id)
			return
		}
		_, _ = io.WriteString(w, "anonymous")
	})
	mux := http.NewServeMux()
	mux.Handle(PathRequired, oryhttp.Middleware(g)(h))
	mux.Handle(PathOptional, oryhttp.Middleware(g, core.Optional())(h))
	a.srv = httptest.NewServer(mux)
	a.Client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
	}
	return a, nil
}

// URL is the app's base URL.
func (a *App) URL() string { return a.srv.URL }

// Handled counts how often a protected handler ran.
func (a *App) Handled() int64 { return a.handled.Load() }

// CloseIdleConnections closes idle connections from the test client to the
// app and from the guard to Ory.
func (a *App) CloseIdleConnections() {
	a.Client.CloseIdleConnections()
	a.Ory.CloseIdleConnections()
	a.srv.CloseClientConnections()
}

// Close stops the app.
func (a *App) Close() {
	a.CloseIdleConnections()
	a.srv.Close()
}

// Cred is the credential a request carries: a session cookie, a session
// token (X-Session-Token), both or neither.
type Cred struct {
	Cookie *http.Cookie
	Token  string
}

// Result is the app's answer to one request.
type Result struct {
	Status     int
	Location   string
	RetryAfter string
	Body       string
	SessionID  string // from a 200 "session <id>" body
	Sent, Done time.Time
	Err        error
}

// Took is how long the request took.
func (r Result) Took() time.Duration { return r.Done.Sub(r.Sent) }

// Get sends GET path with cred; api picks Accept: application/json rather
// than a browser's Accept.
func (a *App) Get(ctx context.Context, path string, cred Cred, api bool) Result {
	var res Result
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.srv.URL+path, nil)
	if err != nil {
		res.Err = err
		return res
	}
	if api {
		req.Header.Set("Accept", "application/json")
	} else {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	if cred.Cookie != nil {
		req.AddCookie(&http.Cookie{Name: cred.Cookie.Name, Value: cred.Cookie.Value})
	}
	if cred.Token != "" {
		req.Header.Set("X-Session-Token", cred.Token)
	}
	res.Sent = time.Now()
	resp, err := a.Client.Do(req)
	if err != nil {
		res.Done = time.Now()
		res.Err = err
		return res
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	res.Done = time.Now()
	res.Status = resp.StatusCode
	res.Location = resp.Header.Get("Location")
	res.RetryAfter = resp.Header.Get("Retry-After")
	res.Body = string(body)
	res.Err = err
	if id, ok := strings.CutPrefix(res.Body, "session "); ok && res.Status == http.StatusOK {
		res.SessionID = id
	}
	return res
}

// WaitGoroutines waits up to d for the number of goroutines, as reported by
// count, to drop to at most want, and returns the last count.
func WaitGoroutines(count func() int, want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	n := count()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = count()
	}
	return n
}

// Describe renders a result for failure messages.
func (r Result) Describe() string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	body := r.Body
	if len(body) > 200 {
		body = body[:200] + "…"
	}
	return fmt.Sprintf("%d Location=%q Retry-After=%q body=%q took=%s", r.Status, r.Location, r.RetryAfter, body, r.Took().Round(time.Millisecond))
}
