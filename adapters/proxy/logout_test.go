package oryproxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// TestLogoutForgetsSession: a logout that completes through the proxy (Ory
// clears the session cookie) makes the guard forget the session at once,
// so the next request asks Ory again; a logout Ory refused, or that did not
// clear the cookie, forgets nothing.
func TestLogoutForgetsSession(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		setCookie  string
		wantForgot bool
	}{
		{"cleared by Max-Age", http.StatusSeeOther, "ory_kratos_session=; Path=/; Max-Age=0; HttpOnly", true},
		{"cleared by Expires", http.StatusSeeOther, "ory_kratos_session=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT", true},
		{"JSON logout", http.StatusNoContent, "ory_kratos_session=; Path=/; Max-Age=0", true},
		{"no cookie cleared", http.StatusSeeOther, "csrf_token_1=; Path=/; Max-Age=0", false},
		{"refused by Ory", http.StatusUnauthorized, "ory_kratos_session=; Path=/; Max-Age=0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var whoami atomic.Int32
			f := newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/sessions/whoami":
					whoami.Add(1)
					if c, err := r.Cookie("ory_kratos_session"); err != nil || c.Value != "s1" {
						w.WriteHeader(http.StatusUnauthorized)
						_, _ = w.Write(orytest.Unauthorized())
						return
					}
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(orytest.ActiveSession("sess-1", "a@example.com"))
				case "/self-service/logout":
					w.Header().Set("Set-Cookie", tt.setCookie)
					if tt.status == http.StatusSeeOther {
						w.Header().Set("Location", "https://app.example/")
					}
					w.WriteHeader(tt.status)
				default:
					http.NotFound(w, r)
				}
			})
			guard, err := core.New(core.Config{OryURL: f.URL, AppURL: "https://app.example", Cache: core.CacheConfig{TTL: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			route := guard.Route()
			check := func() bool {
				r := core.RequestFromHTTP(httptestRequest("GET", "/dashboard", nil, http.Header{"Cookie": {"ory_kratos_session=s1"}}))
				return route.Authenticate(context.Background(), &r).Allow
			}
			first, second := check(), check()
			if !first || !second || whoami.Load() != 1 {
				t.Fatalf("setup: the guard did not cache the session (%d whoami calls)", whoami.Load())
			}

			p, _ := newProxy(t, f, Config{Guard: guard})
			w := do(p, "GET", "/.ory/self-service/logout?token=lt", nil,
				http.Header{"Cookie": {"ory_kratos_session=s1; app=1"}})
			if w.Code != tt.status {
				t.Fatalf("logout status %d, want %d", w.Code, tt.status)
			}
			if whoami.Load() != 1 {
				t.Fatalf("the logout asked Ory's whoami instead of the guard's cache")
			}

			check()
			forgot := whoami.Load() == 2
			if forgot != tt.wantForgot {
				t.Fatalf("forgot the session: %v, want %v", forgot, tt.wantForgot)
			}
			if strings.Contains(w.Header().Get("Set-Cookie"), "Domain=") {
				t.Errorf("cookie not host-only: %q", w.Header().Get("Set-Cookie"))
			}
		})
	}
}

// TestRevokeForgetsSession: a session revoked from the settings page
// through the proxy (DELETE /sessions/{id}) is forgotten by the guard when
// Ory confirms it, and only then.
func TestRevokeForgetsSession(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantForgot bool
	}{
		{"revoked", http.StatusNoContent, true},
		{"not the caller's session", http.StatusNotFound, false},
		{"Ory failing", http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var whoami atomic.Int32
			var revoked atomic.Value
			f := newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/sessions/whoami":
					whoami.Add(1)
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(orytest.ActiveSession("sess-2", "b@example.com"))
				case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/sessions/"):
					revoked.Store(r.URL.Path)
					w.WriteHeader(tt.status)
				default:
					http.NotFound(w, r)
				}
			})
			guard, err := core.New(core.Config{OryURL: f.URL, AppURL: "https://app.example", Cache: core.CacheConfig{TTL: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			route := guard.Route()
			check := func() {
				r := core.RequestFromHTTP(httptestRequest("GET", "/dashboard", nil, http.Header{"Cookie": {"ory_kratos_session=other-device"}}))
				if d := route.Authenticate(context.Background(), &r); !d.Allow {
					t.Fatalf("setup: denied: %v", d.Denial)
				}
			}
			check()
			p, _ := newProxy(t, f, Config{Guard: guard})
			w := do(p, "DELETE", "/.ory/sessions/sess-2", nil, http.Header{"Cookie": {"ory_kratos_session=this-device"}})
			if w.Code != tt.status || revoked.Load() != "/sessions/sess-2" {
				t.Fatalf("revoke: %d, Ory saw %v", w.Code, revoked.Load())
			}
			before := whoami.Load()
			check()
			if forgot := whoami.Load() > before; forgot != tt.wantForgot {
				t.Fatalf("forgot the session: %v, want %v", forgot, tt.wantForgot)
			}
		})
	}
}
