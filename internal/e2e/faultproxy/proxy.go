// Package faultproxy is an HTTP proxy that sits between the guard and a real
// Ory (Kratos) and misbehaves on demand: it refuses connections, hangs,
// answers slowly, drips the body, answers an error status or 429 with
// Retry-After, cuts the connection in the middle of the body or sends a body
// that does not decode. The mode can be switched at run time while traffic
// flows, and the proxy counts the requests that reached it.
//
//	p, _ := faultproxy.New(kratos.PublicURL())
//	defer p.Close()
//	guard, _ := core.New(core.Config{OryURL: p.URL()})
//	p.Set(faultproxy.Hang())
package faultproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what the proxy does with a request.
type Kind uint8

// The kinds of behaviour. Build a Mode with the functions below rather than
// by hand.
const (
	KindPass    Kind = iota // forward to the upstream and relay its answer
	KindRefuse              // no listener: connections are refused
	KindHang                // read the request, never answer
	KindSlow                // wait Delay, then forward
	KindLag                 // forward at once, hold the upstream's answer for Delay
	KindDrip                // forward, send the headers, then the body one byte per Delay
	KindStatus              // answer Status, Header and Body without asking the upstream
	KindCut                 // forward, send the headers and half the body, close the connection
	KindGarbage             // answer 200 application/json with a body that does not decode
)

var kindNames = [...]string{"pass", "refuse", "hang", "slow", "lag", "drip", "status", "cut", "garbage"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Mode is one behaviour of the proxy.
type Mode struct {
	Kind   Kind
	Delay  time.Duration // KindSlow, KindLag, KindDrip
	Status int           // KindStatus
	Header http.Header   // KindStatus, KindGarbage: added to the answer
	Body   []byte        // KindStatus, KindGarbage
}

func (m Mode) String() string {
	switch m.Kind {
	case KindSlow, KindLag, KindDrip:
		return fmt.Sprintf("%s(%s)", m.Kind, m.Delay)
	case KindStatus:
		if ra := m.Header.Get("Retry-After"); ra != "" {
			return fmt.Sprintf("status(%d, Retry-After: %s)", m.Status, ra)
		}
		return fmt.Sprintf("status(%d)", m.Status)
	}
	return m.Kind.String()
}

// Pass forwards every request to the upstream.
func Pass() Mode { return Mode{Kind: KindPass} }

// Refuse closes the listener (and every open connection), so that new
// connections are refused, as when Ory is down.
func Refuse() Mode { return Mode{Kind: KindRefuse} }

// Hang reads each request and never answers it (until the client gives up,
// the mode changes to Refuse or the proxy is closed).
func Hang() Mode { return Mode{Kind: KindHang} }

// Slow waits d before forwarding each request.
func Slow(d time.Duration) Mode { return Mode{Kind: KindSlow, Delay: d} }

// Lag forwards each request at once and holds the upstream's answer for d:
// the answer reflects the upstream's state at the time of the request but
// arrives d later.
func Lag(d time.Duration) Mode { return Mode{Kind: KindLag, Delay: d} }

// Drip forwards each request, sends the answer's status and headers at once,
// then its body one byte per interval.
func Drip(interval time.Duration) Mode { return Mode{Kind: KindDrip, Delay: interval} }

// Status answers every request with code and header (and a small Ory-style
// JSON error body) without asking the upstream.
func Status(code int, header http.Header) Mode {
	body := fmt.Sprintf(`{"error":{"code":%d,"status":%q,"message":"injected by faultproxy"}}`, code, http.StatusText(code))
	return Mode{Kind: KindStatus, Status: code, Header: header, Body: []byte(body)}
}

// TooManyRequests answers 429 with the given Retry-After, as Ory Network's
// rate limiter does.
func TooManyRequests(retryAfter string) Mode {
	return Status(http.StatusTooManyRequests, http.Header{"Retry-After": {retryAfter}})
}

// Cut forwards each request, then sends the answer's status, headers
// (announcing the full Content-Length) and half of its body, and closes the
// connection.
func Cut() Mode { return Mode{Kind: KindCut} }

// Garbage answers 200 with a JSON content type and a body that is not JSON.
func Garbage() Mode {
	return Mode{Kind: KindGarbage, Body: []byte(`{"id": "garbage", "active": tru` + "\x00\xff<html>")}
}

// Proxy is a fault-injecting HTTP/1.1 proxy on a loopback port. Its
// methods are safe for concurrent use.
type Proxy struct {
	upstream  *url.URL
	transport *http.Transport
	addr      string

	mu      sync.Mutex
	mode    Mode
	srv     *http.Server // nil while refusing
	stop    chan struct{}
	closed  bool
	serving sync.WaitGroup

	requests atomic.Int64
	answers  atomic.Int64
	observe  atomic.Pointer[func(*http.Request, *http.Response, []byte)]
	pathMu   sync.Mutex
	byPath   map[string]int64
}

// New starts a proxy in Pass mode on 127.0.0.1 in front of upstream (a base
// URL such as Kratos' public URL).
func New(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q must be an absolute http(s) URL", upstream)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	p := &Proxy{
		upstream: u,
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
		byPath: map[string]int64{},
		mode:   Pass(),
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	return p, nil
}

// URL is the proxy's base URL; give it to the guard as the Ory URL.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Set switches the proxy to m. Requests already being handled keep the mode
// they started with, except that switching to Refuse closes every open
// connection. Switching away from Refuse listens again on the same port.
func (p *Proxy) Set(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faultproxy: proxy is closed")
	}
	p.mode = m
	switch {
	case m.Kind == KindRefuse && p.srv != nil:
		p.shutdownLocked()
	case m.Kind != KindRefuse && p.srv == nil:
		l, err := listenAgain(p.addr)
		if err != nil {
			return err
		}
		p.serve(l)
	}
	return nil
}

// listenAgain listens on addr, retrying briefly: the port was just released.
func listenAgain(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var l net.Listener
		if l, err = (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("faultproxy: listen again on %s: %w", addr, err)
}

// serve starts an http.Server on l. p.mu is held (or p is not shared yet).
func (p *Proxy) serve(l net.Listener) {
	stop := make(chan struct{})
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.handle(w, r, stop) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	p.srv, p.stop = srv, stop
	p.serving.Add(1)
	go func() {
		defer p.serving.Done()
		_ = srv.Serve(l)
	}()
}

// shutdownLocked closes the listener and every connection. p.mu is held.
func (p *Proxy) shutdownLocked() {
	close(p.stop)
	_ = p.srv.Close()
	p.srv = nil
}

// Requests counts the requests that reached the proxy, whatever the mode.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// RequestsTo counts the requests for one path, such as "/sessions/whoami".
func (p *Proxy) RequestsTo(path string) int64 {
	p.pathMu.Lock()
	defer p.pathMu.Unlock()
	return p.byPath[path]
}

// Observe registers f to be called with every request forwarded to the
// upstream and the answer read from it (before any fault is applied to the
// answer); nil removes it. f must not keep or change its arguments.
func (p *Proxy) Observe(f func(req *http.Request, resp *http.Response, body []byte)) {
	if f == nil {
		p.observe.Store(nil)
		return
	}
	p.observe.Store(&f)
}

// UpstreamAnswers counts the answers the proxy has read from the upstream
// (with Lag, before it passes them on).
func (p *Proxy) UpstreamAnswers() int64 { return p.answers.Load() }

// CloseIdleConnections closes the proxy's idle connections to the upstream.
func (p *Proxy) CloseIdleConnections() { p.transport.CloseIdleConnections() }

// Close stops the proxy, ending hanging requests.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.srv != nil {
		p.shutdownLocked()
	}
	p.mu.Unlock()
	p.serving.Wait()
	p.transport.CloseIdleConnections()
	return nil
}

func (p *Proxy) handle(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
	p.requests.Add(1)
	p.pathMu.Lock()
	p.byPath[r.URL.Path]++
	p.pathMu.Unlock()
	m := p.Mode()
	ctx := r.Context()

	switch m.Kind {
	case KindHang, KindRefuse: // Refuse: a request that raced the switch
		select {
		case <-ctx.Done():
		case <-stop:
		}
		panic(http.ErrAbortHandler) // close the connection without an answer
	case KindStatus, KindGarbage:
		status := m.Status
		if m.Kind == KindGarbage {
			status = http.StatusOK
		}
		h := w.Header()
		for k, vs := range m.Header {
			h[k] = append([]string(nil), vs...)
		}
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
		h.Set("Content-Length", strconv.Itoa(len(m.Body)))
		w.WriteHeader(status)
		_, _ = w.Write(m.Body)
		return
	case KindSlow:
		if !wait(ctx, stop, m.Delay) {
			panic(http.ErrAbortHandler)
		}
	}

	resp, body, err := p.forward(r)
	if err != nil {
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	switch m.Kind {
	case KindLag:
		if !wait(ctx, stop, m.Delay) {
			panic(http.ErrAbortHandler)
		}
	case KindCut:
		cut(w, resp, body)
		return
	case KindDrip:
		drip(ctx, w, resp, body, m.Delay, stop)
		return
	}
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// wait sleeps d unless the request or the server ends first.
func wait(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-stop:
	}
	return false
}

// hopHeaders are not forwarded (RFC 9110, 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends r to the upstream and reads the whole answer.
func (p *Proxy) forward(r *http.Request) (*http.Response, []byte, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.upstream.Scheme, p.upstream.Host
	out.URL.Path = p.upstream.Path + r.URL.Path
	out.URL.RawPath = ""
	out.Host = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	p.answers.Add(1)
	if f := p.observe.Load(); f != nil {
		(*f)(r, resp, body)
	}
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	return resp, body, nil
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
}

// cut writes the status, headers announcing the full length and half the
// body on the raw connection, then closes it.
func cut(w http.ResponseWriter, resp *http.Response, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	writeHead(buf, resp, max(len(body), 2))
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

func writeHead(buf *bufio.ReadWriter, resp *http.Response, length int) {
	_, _ = fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	h.Set("Content-Length", strconv.Itoa(length))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
}

// drip sends the headers at once and the body one byte per interval.
func drip(ctx context.Context, w http.ResponseWriter, resp *http.Response, body []byte, interval time.Duration, stop <-chan struct{}) {
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		if rc.Flush() != nil || i == len(body)-1 {
			return
		}
		if !wait(ctx, stop, interval) {
			panic(http.ErrAbortHandler)
		}
	}
}
