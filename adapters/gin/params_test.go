package orygin

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// paramApp is a Gin engine with cfg applied whose route /docs/:id answers
// with the id and "other" values the guard reads for core.PathParam, quoted.
func paramApp(cfg func(*gin.Engine)) *gin.Engine {
	r := gin.New()
	if cfg != nil {
		cfg(r)
	}
	r.GET("/docs/:id", func(c *gin.Context) {
		p := (*pathParams)(c)
		c.String(http.StatusOK, strconv.Quote(p.Param("id"))+" "+strconv.Quote(p.Param("other")))
	})
	return r
}

// TestPathParamsDecodeOnce: with Gin's defaults the value the guard reads
// for core.PathParam is the segment Gin matched, percent-decoded exactly
// once, for every shape of segment a client can send; a request Gin does
// not route (an encoded slash is a slash to Gin's router) or net/http
// refuses never reaches the handler.
func TestPathParamsDecodeOnce(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	srv := httptest.NewServer(paramApp(nil))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for _, c := range []struct {
		name, target string
		status       int    // 200: the handler ran
		want         string // the id the handler read, when it ran
	}{
		{"plain", "/docs/plain", 200, "plain"},
		{"encoded slash: Gin routes the decoded path, /docs/a/b", "/docs/a%2Fb", http.StatusNotFound, ""},
		{"encoded hash", "/docs/a%23b", 200, "a#b"},
		{"encoded at", "/docs/%40", 200, "@"},
		{"encoded colon", "/docs/%3A", 200, ":"},
		{"encoded letter", "/docs/%61", 200, "a"},
		{"plus stays", "/docs/a+b", 200, "a+b"},
		{"encoded percent decoded once", "/docs/a%252F", 200, "a%2F"},
		{"encoded dots", "/docs/%2E%2E", 200, ".."},
		{"dot segment", "/docs/..", 200, ".."},
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

// TestPathParamsUseRawPath: with Engine.UseRawPath (and Gin's default
// UnescapePathValues) Gin routes the raw path and decodes each value
// itself, as a query value, when the request has a RawPath: an encoded
// slash stays in the segment, and a "+" then becomes a space (the README
// says so).
func TestPathParamsUseRawPath(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	srv := httptest.NewServer(paramApp(func(e *gin.Engine) { e.UseRawPath = true }))
	t.Cleanup(srv.Close)
	for target, want := range map[string]string{
		"/docs/a%2Fb":  "a/b",
		"/docs/a%252F": "a%2F",
		"/docs/a+b":    "a+b", // no RawPath: routed on the decoded path
		"/docs/a+%40":  "a @", // RawPath: decoded as a query value
		"/docs/%40":    "@",
	} {
		status, body := rawGet(t, srv.Listener.Addr().String(), target)
		if want := strconv.Quote(want) + ` ""`; status != 200 || body != want {
			t.Errorf("%s: %d %s, want 200 %s", target, status, body, want)
		}
	}
}

// TestPathParamsInRouterUse: middleware installed with router.Use runs
// after Gin matched the route, so it reads the route's path parameters.
func TestPathParamsInRouterUse(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var seen string
	r := gin.New()
	r.Use(func(c *gin.Context) { seen = (*pathParams)(c).Param("id") })
	r.GET("/docs/:id", func(*gin.Context) {})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/docs/a%23b", nil))
	if seen != "a#b" {
		t.Errorf("router.Use read %q, want %q", seen, "a#b")
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
