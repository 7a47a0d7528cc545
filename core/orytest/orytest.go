// Package orytest is a fake Ory server for tests of apps that use oryguard
// (and for oryguard's own tests). It answers GET /sessions/whoami and
// GET /self-service/logout/browser from sessions and replies you register,
// records what reached it, and can misbehave on demand: hang, answer
// slowly, fail, rate-limit or send garbage.
//
// It also answers POST /self-service/logout/api (native logout: the token
// stops resolving). NewKeto starts a fake Ory Permissions (Keto) read API
// for routes with core.Permit: relation tuples the test sets, single and
// batch checks, failures on demand, and a barrier that proves checks are
// concurrent. It is a test double for the endpoints the guard calls,
// not an Ory implementation; end-to-end tests run against a real Kratos.
//
// The package example shows an app testing its protected handlers with a
// session cookie and a session token.
package orytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	client "github.com/ory/client-go"
)

// Reply is a canned whoami answer.
type Reply struct {
	// Status is the HTTP status; zero means 200.
	Status int
	// Header is added to the response.
	Header http.Header
	// Body is written as is (Content-Type application/json unless Header
	// sets one).
	Body []byte
	// Delay holds the answer back this long (or until the client gives up).
	Delay time.Duration
	// Hang holds the answer back until the client gives up.
	Hang bool
	// Until, when set, holds the answer back until it is closed (or the
	// client gives up).
	Until <-chan struct{}
	// Truncate sends the headers and half of Body, then closes the
	// connection.
	Truncate bool
}

// Recorded is what one request to the fake server carried.
type Recorded struct {
	Path          string
	Cookie        string
	SessionToken  string
	Authorization string
}

// Server is a fake Ory public API. The zero value is not usable; call
// NewServer. Close it when done.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	replies  map[string]Reply // by credential value
	fallback *Reply           // answers every request when set
	requests []Recorded
}

// NewServer starts a fake Ory server on a loopback port.
func NewServer() *Server {
	s := &Server{replies: map[string]Reply{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Session makes credential (a session token or a session cookie value)
// resolve to sess.
func (s *Server) Session(credential string, sess client.Session) {
	body, err := json.Marshal(sess)
	if err != nil {
		panic("orytest: encode session: " + err.Error())
	}
	s.Reply(credential, Reply{Body: body})
}

// Reply makes requests carrying credential get r.
func (s *Server) Reply(credential string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[credential] = r
}

// ReplyAll makes every whoami request get r, whatever it carries (fault
// injection). Pass nil to go back to per-credential replies.
func (s *Server) ReplyAll(r *Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// Requests returns what every request so far carried, oldest first.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.requests...)
}

// Calls counts the whoami requests so far.
func (s *Server) Calls() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == "/sessions/whoami" {
			n++
		}
	}
	return n
}

// Reset forgets recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// credentials lists the credential values a request carries, in Kratos'
// order.
func credentials(r *http.Request) []string {
	var out []string
	if t := r.Header.Get("X-Session-Token"); t != "" {
		out = append(out, t)
	}
	for _, c := range r.Cookies() {
		out = append(out, c.Value)
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		out = append(out, a[7:])
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{
		Path:          r.URL.Path,
		Cookie:        strings.Join(r.Header.Values("Cookie"), "; "),
		SessionToken:  r.Header.Get("X-Session-Token"),
		Authorization: r.Header.Get("Authorization"),
	})
	reply, found := Reply{}, false
	if s.fallback != nil {
		reply, found = *s.fallback, true
	} else {
		for _, c := range credentials(r) {
			if rep, ok := s.replies[c]; ok {
				reply, found = rep, true
				break
			}
		}
	}
	s.mu.Unlock()

	switch r.URL.Path {
	case "/self-service/logout/api":
		var body struct {
			SessionToken string `json:"session_token"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		rep, known := s.replies[body.SessionToken]
		if s.fallback != nil {
			rep, known = *s.fallback, true
		}
		if known && (rep.Status == 0 || rep.Status == http.StatusOK) {
			delete(s.replies, body.SessionToken) // the token no longer opens a session
		}
		s.requests[len(s.requests)-1].SessionToken = body.SessionToken
		s.mu.Unlock()
		switch {
		case !known:
			write(w, Reply{Status: http.StatusForbidden, Body: errorBody(http.StatusForbidden, "", "The provided Ory Session Token could not be found.", "")})
		case rep.Status != 0 && rep.Status != http.StatusOK:
			write(w, rep)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
		return
	case "/sessions/whoami":
	case "/self-service/logout/browser":
		if !found {
			write(w, Reply{Status: http.StatusUnauthorized, Body: Unauthorized()})
			return
		}
		if reply.Status != 0 && reply.Status != http.StatusOK {
			write(w, reply)
			return
		}
		body, _ := json.Marshal(map[string]string{
			"logout_url":   s.URL + "/self-service/logout?token=fake-logout-token&return_to=" + r.URL.Query().Get("return_to"),
			"logout_token": "fake-logout-token",
		})
		write(w, Reply{Body: body})
		return
	default:
		http.NotFound(w, r)
		return
	}
	if !found {
		reply = Reply{Status: http.StatusUnauthorized, Body: Unauthorized()}
	}
	if reply.Hang {
		<-r.Context().Done()
		return
	}
	if reply.Until != nil {
		select {
		case <-reply.Until:
		case <-r.Context().Done():
			return
		}
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	write(w, reply)
}

func write(w http.ResponseWriter, rep Reply) {
	for k, vs := range rep.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	if rep.Truncate {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("orytest: Truncate needs a hijackable connection")
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		writeTruncated(buf, status, w.Header(), rep.Body)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(rep.Body)
}

func writeTruncated(buf *bufio.ReadWriter, status int, h http.Header, body []byte) {
	_, _ = fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}
