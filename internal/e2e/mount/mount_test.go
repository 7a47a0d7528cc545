package mount_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/mount"
)

// TestTable: the table has each adapter once, under the name its Target
// gives, and Lookup finds each by that name.
func TestTable(t *testing.T) {
	want := []string{"net/http", "gin", "echo", "echov5", "fiber", "fiberv3"}
	as, ts := mount.Adapters(), mount.Targets()
	if len(as) != len(want) || len(ts) != len(want) {
		t.Fatalf("%d adapters and %d targets, want %d", len(as), len(ts), len(want))
	}
	for i, name := range want {
		if as[i].Name() != name || ts[i].Name() != name {
			t.Errorf("adapter %d is %q (target %q), want %q", i, as[i].Name(), ts[i].Name(), name)
		}
		a, err := mount.Lookup(name)
		if err != nil || a.Name() != name {
			t.Errorf("Lookup(%q) = %q, %v", name, a.Name(), err)
		}
	}
	if _, err := mount.Lookup("martini"); err == nil {
		t.Error("Lookup of an unknown adapter: no error")
	}
}

// TestServe serves an open and a guarded route with each adapter on a real
// HTTP server, with a fake Ory that knows one session cookie.
func TestServe(t *testing.T) {
	const cookie = "ory_kratos_session=valid-cookie"
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session("valid-cookie", orytest.ActiveSession("s1", "a@example.com"))
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reply := func(s *client.Session) []byte {
		if s == nil {
			return []byte("anonymous")
		}
		return []byte("session " + s.Id)
	}
	tests := []struct {
		path, cookie, accept string
		status               int
		body                 string
	}{
		{"/open", "", "application/json", http.StatusOK, "anonymous"},
		{"/open", cookie, "application/json", http.StatusOK, "anonymous"},
		{"/guarded", cookie, "application/json", http.StatusOK, "session s1"},
		{"/guarded", "", "application/json", http.StatusUnauthorized, ""},
		{"/guarded", "ory_kratos_session=unknown", "text/html", http.StatusSeeOther, ""},
	}
	for _, a := range mount.Adapters() {
		t.Run(a.Name(), func(t *testing.T) {
			app, err := a.Serve(
				mount.Route{Path: "/open", Reply: reply},
				mount.Route{Path: "/guarded", Guard: g, Reply: reply},
			)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := app.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, tc := range tests {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, app.URL+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Accept", tc.accept)
				if tc.cookie != "" {
					req.Header.Set("Cookie", tc.cookie)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status {
					t.Errorf("GET %s (Cookie %q): status %d, want %d", tc.path, tc.cookie, resp.StatusCode, tc.status)
				}
				if tc.status == http.StatusOK {
					if string(body) != tc.body || resp.Header.Get("Content-Type") != mount.ReplyContentType {
						t.Errorf("GET %s (Cookie %q): %q %q, want %q %q", tc.path, tc.cookie,
							resp.Header.Get("Content-Type"), body, mount.ReplyContentType, tc.body)
					}
				}
			}
		})
	}
}
