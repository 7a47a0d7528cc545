package oryecho

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// decodeCases are request targets for the route /docs/:id as sent on the
// wire, and the id the guard must read for core.PathParam: the segment
// Echo matched, percent-decoded exactly once. Status 400: net/http refuses
// the request, which never reaches a handler.
var decodeCases = []struct {
	name, target string
	status       int
	want         string
}{
	{"plain", "/docs/plain", 200, "plain"},
	{"encoded slash", "/docs/a%2Fb", 200, "a/b"},
	{"encoded hash", "/docs/a%23b", 200, "a#b"},
	{"encoded at", "/docs/%40", 200, "@"},
	{"encoded colon", "/docs/%3A", 200, ":"},
	{"encoded letter", "/docs/%61", 200, "a"},
	{"plus stays", "/docs/a+b", 200, "a+b"},
	{"plus stays next to an escape", "/docs/a+%40", 200, "a+@"},
	{"encoded percent decoded once", "/docs/a%252F", 200, "a%2F"},
	{"encoded percent decoded once, with a RawPath", "/docs/a%252F%40", 200, "a%2F@"},
	{"encoded dots", "/docs/%2E%2E", 200, ".."},
	{"dot segment", "/docs/..", 200, ".."},
	{"unicode, encoded", "/docs/%C3%A9t%C3%A9", 200, "été"},
	{"unicode, lowercase hex", "/docs/%c3%a9", 200, "é"},
	{"unicode, raw bytes", "/docs/été", 200, "été"},
	{"bad escape: net/http refuses", "/docs/a%zz", http.StatusBadRequest, ""},
}

// TestPathParamsDecodeOnce serves decodeCases on a real server, reading
// the parameters in a middleware installed with e.Use, which Echo runs
// after routing.
func TestPathParamsDecodeOnce(t *testing.T) {
	e := echo.New()
	var seen string
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := params(c)
			seen = strconv.Quote(p.Param("id")) + " " + strconv.Quote(p.Param("other"))
			return next(c)
		}
	})
	e.GET("/docs/:id", func(c echo.Context) error { return c.String(http.StatusOK, seen) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rawGet(t, srv.Listener.Addr().String(), c.target)
			if status != c.status {
				t.Fatalf("%s: status %d (%q), want %d", c.target, status, body, c.status)
			}
			if want := strconv.Quote(c.want) + ` ""`; status == 200 && body != want {
				t.Errorf("%s: read %s, want %s", c.target, body, want)
			}
		})
	}
}

// TestPathParamsInPre: middleware installed with e.Pre runs before Echo
// routes the request, so it reads no path parameter (a route with
// core.PathParam is denied there).
func TestPathParamsInPre(t *testing.T) {
	e := echo.New()
	seen := "not run"
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			seen = params(c).Param("id")
			return next(c)
		}
	})
	e.GET("/docs/:id", func(echo.Context) error { return nil })
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/docs/a%2Fb", nil))
	if seen != "" {
		t.Errorf("e.Pre read %q, want \"\"", seen)
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
