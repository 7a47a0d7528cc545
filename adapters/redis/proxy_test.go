package oryredis_test

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// stallProxy forwards TCP between a client and Redis. Once armed with a
// marker, it holds either the first request chunk that contains the marker
// (a request that reaches Redis late) or the reply to it (a reply Redis
// sends but the client does not get), signals held, and lets it through on
// release. Everything else passes at once.
type stallProxy struct {
	addr string
	ln   net.Listener

	mu      sync.Mutex
	marker  []byte
	request bool // hold the request itself, not its reply
	held    chan struct{}
	release chan struct{}
	relOnce *sync.Once
	conns   []net.Conn
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), ln: ln}
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

// arm makes the proxy hold the next request containing marker (request
// true) or the reply to it, and returns the channels: held is closed once
// something is held, release lets it go.
func (p *stallProxy) arm(marker string, request bool) (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marker, p.request = []byte(marker), request
	p.held, p.release = make(chan struct{}), make(chan struct{})
	rel, once := p.release, &sync.Once{}
	p.relOnce = once
	return p.held, func() { once.Do(func() { close(rel) }) }
}

// take reports whether chunk matches the armed marker, disarming it.
func (p *stallProxy) take(chunk []byte) (request bool, held, release chan struct{}, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marker == nil || !bytes.Contains(chunk, p.marker) {
		return false, nil, nil, false
	}
	p.marker = nil
	return p.request, p.held, p.release, true
}

// pipe forwards both ways; c is the client, r is Redis.
func (p *stallProxy) pipe(c, r net.Conn) {
	replyHold := make(chan [2]chan struct{}, 1) // the next reply on this connection is held
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				select {
				case h := <-replyHold:
					close(h[0])
					<-h[1]
				default:
				}
				if _, werr := c.Write(buf[:n]); werr != nil {
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
			if request, held, release, ok := p.take(buf[:n]); ok {
				if request {
					close(held)
					<-release
				} else {
					replyHold <- [2]chan struct{}{held, release}
				}
			}
			if _, werr := r.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = r.Close()
}

func (p *stallProxy) close() {
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
