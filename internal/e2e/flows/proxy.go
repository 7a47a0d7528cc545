package flows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oryguard/oryguard/core/orytest"
)

// Recorder is a reverse proxy on 127.0.0.1 in front of Kratos' public API
// that records, for every request it forwards, the path and the credential
// headers exactly as it sends them on (after the proxy's own hop-by-hop
// clean-up, which never touches these headers). Guards point their OryURL at
// it. It is safe for concurrent use.
type Recorder struct {
	*httptest.Server
	// Host is the proxy's host:port, as it appears in the guard's URLs.
	Host string

	mu   sync.Mutex
	reqs []orytest.Recorded
}

// NewRecorder starts a recording proxy to target (Kratos' public URL).
func NewRecorder(target string) (*Recorder, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("recorder target %q: %w", target, err)
	}
	rec := &Recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u) // also sets the Host header to Kratos'
			rec.record(pr.Out)
		},
		// A guard that gives up on a request makes the proxy log it; the
		// guard's answer is what the cases check.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	rec.Server = httptest.NewServer(proxy)
	rec.Host = strings.TrimPrefix(rec.URL, "http://")
	return rec, nil
}

func (r *Recorder) record(out *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, orytest.Recorded{
		Path:          out.URL.Path,
		Cookie:        strings.Join(out.Header.Values("Cookie"), "; "),
		SessionToken:  out.Header.Get("X-Session-Token"),
		Authorization: out.Header.Get("Authorization"),
	})
}

// Take returns the requests forwarded since the last Take, oldest first,
// and forgets them.
func (r *Recorder) Take() []orytest.Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// Switch is a TCP forwarder on a fixed 127.0.0.1 port in front of Kratos.
// Down closes its listener and every connection through it, so that a
// client sees exactly what it sees when the Kratos process exits: open
// keep-alive connections end, and new ones are refused. Up listens on the
// same port again. It stands in for stopping Kratos and starting it later
// on the same ports, which the harness cannot do (its Restart does both in
// one call).
type Switch struct {
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewSwitch starts a forwarder to target (host:port) on a free port; it is
// up.
func NewSwitch(target string) (*Switch, error) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("switch: listen: %w", err)
	}
	s := &Switch{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	s.serve(ln)
	return s, nil
}

// URL is the switch's base URL.
func (s *Switch) URL() string { return "http://" + s.addr }

// Up listens again on the switch's port.
func (s *Switch) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("switch: already up")
	}
	ln, err := listen(s.addr)
	if err != nil {
		return fmt.Errorf("switch: listen again on %s: %w", s.addr, err)
	}
	s.serveLocked(ln)
	return nil
}

// Down stops listening and closes every open connection.
func (s *Switch) Down() {
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Close is Down.
func (s *Switch) Close() { s.Down() }

func listen(addr string) (net.Listener, error) {
	return (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
}

func (s *Switch) serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serveLocked(ln)
}

func (s *Switch) serveLocked(ln net.Listener) {
	s.ln = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.forward(c)
			}()
		}
	}()
}

// track registers c unless the switch went down meanwhile.
func (s *Switch) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Switch) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Switch) forward(client net.Conn) {
	defer client.Close()
	if !s.track(client) {
		return
	}
	defer s.untrack(client)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	upstream, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.target)
	cancel()
	if err != nil {
		return
	}
	defer upstream.Close()
	if !s.track(upstream) {
		return
	}
	defer s.untrack(upstream)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(upstream, client)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(client, upstream)
		done <- struct{}{}
	}()
	<-done // either side ended: end both
	_ = client.Close()
	_ = upstream.Close()
	<-done
}
