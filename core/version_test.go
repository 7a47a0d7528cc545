package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func TestVersionIsSemver(t *testing.T) {
	if !regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`).MatchString(core.Version) {
		t.Fatalf("core.Version = %q, want the form of a tag such as v0.1.0", core.Version)
	}
}

// Every call the guard makes to Ory names the guard and its version.
func TestUserAgentNamesTheVersion(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("cookie-1", orytest.ActiveSession("s1", "a@example.com"))
	ory.Session("token-1", orytest.ActiveSession("s2", "b@example.com"))

	var mu sync.Mutex
	agents := map[string][]string{} // by path
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents[r.URL.Path] = append(agents[r.URL.Path], r.Header.Get("User-Agent"))
		mu.Unlock()
		ory.Config.Handler.ServeHTTP(w, r)
	}))
	defer front.Close()
	g, _ := newGuard(t, front.URL, nil)
	want := "oryguard/" + core.Version

	tests := []struct {
		name string
		path string
		call func() core.Decision
	}{
		{"whoami", "/sessions/whoami", func() core.Decision {
			return g.Route().Authenticate(context.Background(), browser("/", "ory_kratos_session=cookie-1"))
		}},
		{"browser logout", "/self-service/logout/browser", func() core.Decision {
			return g.LogoutRedirect(context.Background(), browser("/logout", "ory_kratos_session=cookie-1"))
		}},
		{"native logout", "/self-service/logout/api", func() core.Decision {
			return g.LogoutRedirect(context.Background(), &core.Request{URI: "/logout", SessionToken: "token-1"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := tt.call(); d.Status >= 400 {
				t.Fatalf("status %d: %s", d.Status, d.Body)
			}
			mu.Lock()
			got := agents[tt.path]
			mu.Unlock()
			if len(got) == 0 {
				t.Fatalf("no request reached %s", tt.path)
			}
			for _, ua := range got {
				if ua != want {
					t.Fatalf("User-Agent %q on %s, want %q", ua, tt.path, want)
				}
			}
		})
	}
}
