package oryhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestPathParamsDecodeOnce: the value the guard reads for core.PathParam
// is the path segment ServeMux matched, percent-decoded exactly once, for
// every shape of segment a client can send; a request net/http refuses or
// redirects never reaches the handler.
func TestPathParamsDecodeOnce(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /docs/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strconv.Quote((*pathParams)(r).Param("id"))+" "+strconv.Quote((*pathParams)(r).Param("other")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for _, c := range []struct {
		name, target string
		status       int    // 200: the handler ran
		want         string // the id the handler read, when it ran
	}{
		{"plain", "/docs/plain", 200, "plain"},
		{"encoded slash", "/docs/a%2Fb", 200, "a/b"},
		{"encoded hash", "/docs/a%23b", 200, "a#b"},
		{"encoded at", "/docs/%40", 200, "@"},
		{"encoded colon", "/docs/%3A", 200, ":"},
		{"encoded letter", "/docs/%61", 200, "a"},
		{"plus stays", "/docs/a+b", 200, "a+b"},
		{"encoded percent decoded once", "/docs/a%252F", 200, "a%2F"},
		{"encoded dots", "/docs/%2E%2E", 200, ".."},
		{"dot segment: ServeMux redirects to the cleaned path", "/docs/..", http.StatusTemporaryRedirect, ""},
		{"unicode, encoded", "/docs/%C3%A9t%C3%A9", 200, "été"},
		{"unicode, lowercase hex", "/docs/%c3%a9", 200, "é"},
		{"unicode, raw bytes", "/docs/été", 200, "été"},
		{"bad escape: net/http refuses", "/docs/a%zz", http.StatusBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawGet(t, addr, c.target)
			if status != c.status {
				t.Fatalf("%s: status %d (%q), want %d", c.target, status, body, c.status)
			}
			if want := strconv.Quote(c.want) + ` ""`; status == 200 && body != want {
				t.Errorf("%s: read %s, want %s", c.target, body, want)
			}
		})
	}
}

// TestPathParamsOutsideTheMux: a middleware wrapped around the whole
// ServeMux runs before the mux matched a pattern, so it reads no path
// parameter (and a route with core.PathParam is denied there); wrapped
// around the handler registered on the pattern, it reads the value.
func TestPathParamsOutsideTheMux(t *testing.T) {
	var outside, inside string
	mux := http.NewServeMux()
	mux.Handle("GET /docs/{id}", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inside = (*pathParams)(r).Param("id")
	}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outside = (*pathParams)(r).Param("id")
		mux.ServeHTTP(w, r)
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/docs/a%2Fb", nil))
	if outside != "" || inside != "a/b" {
		t.Errorf("around the mux %q, on the pattern %q; want \"\" and \"a/b\"", outside, inside)
	}
}

// rawGet sends "GET target" as written, on a new connection to addr, and
// returns the status and body; 0 when the server hung up without an answer.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(body)
}
