package redistest

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// StallProxy forwards TCP between clients and a Redis server, and forces
// races without sleeps: once armed with a marker, it holds either the first
// request chunk that contains the marker (a request that reaches Redis
// late) or the reply to it (a reply Redis sends but the client does not
// get), signals held, and lets it through on release. Everything else
// passes at once.
type StallProxy struct {
	addr string
	ln   net.Listener

	mu      sync.Mutex
	marker  []byte
	request bool // hold the request itself, not its reply
	held    chan struct{}
	release chan struct{}
	passed  chan struct{} // closed once what was held has been passed on
	relOnce *sync.Once
	conns   []net.Conn
}

// NewStallProxy starts a StallProxy on a loopback port in front of the
// Redis server at target (host:port); it stops when the test ends.
func NewStallProxy(t testing.TB, target string) *StallProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &StallProxy{addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := (&net.Dialer{}).Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go p.pipe(c, r)
		}
	}()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address (host:port), for the Redis client under test.
func (p *StallProxy) Addr() string { return p.addr }

// Arm makes the proxy hold the next request containing marker (request
// true) or the reply to it, and returns held, closed once something is
// held, and release, which lets it go and, when something was held, returns
// once it has been passed on (to Redis, or to the client), so that what
// the test does next happens after it. Calling release again does nothing.
func (p *StallProxy) Arm(marker string, request bool) (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marker, p.request = []byte(marker), request
	p.held, p.release, p.passed = make(chan struct{}), make(chan struct{}), make(chan struct{})
	h, rel, passed, once := p.held, p.release, p.passed, &sync.Once{}
	p.relOnce = once
	return h, func() {
		once.Do(func() {
			close(rel)
			select {
			case <-h:
				select {
				case <-passed:
				case <-time.After(10 * time.Second): // the connection died meanwhile
				}
			default:
			}
		})
	}
}

// hold is one armed hold that matched.
type hold struct{ held, release, passed chan struct{} }

// take reports whether chunk matches the armed marker, disarming it.
func (p *StallProxy) take(chunk []byte) (request bool, h hold, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marker == nil || !bytes.Contains(chunk, p.marker) {
		return false, hold{}, false
	}
	p.marker = nil
	return p.request, hold{p.held, p.release, p.passed}, true
}

// pipe forwards both ways; c is the client, r is Redis.
func (p *StallProxy) pipe(c, r net.Conn) {
	replyHold := make(chan hold, 1) // the next reply on this connection is held
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				var passed chan struct{}
				select {
				case h := <-replyHold:
					close(h.held)
					<-h.release
					passed = h.passed
				default:
				}
				_, werr := c.Write(buf[:n])
				if passed != nil {
					close(passed)
				}
				if werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		_ = c.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			var passed chan struct{}
			if request, h, ok := p.take(buf[:n]); ok {
				if request {
					close(h.held)
					<-h.release
					passed = h.passed
				} else {
					replyHold <- h
				}
			}
			_, werr := r.Write(buf[:n])
			if passed != nil {
				close(passed)
			}
			if werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = r.Close()
}

func (p *StallProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	if p.relOnce != nil {
		rel := p.release
		p.relOnce.Do(func() { close(rel) })
	}
}
