package oryproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeNetwork stands in for an Ory Network project: it redirects to its
// custom domain unless told Ory-No-Custom-Domain-Redirect, builds the
// links it emails on Ory-Base-URL-Rewrite only when the request carries
// the project's API key in Ory-Base-URL-Rewrite-Token (as Ory Network
// does), and serves the Account Experience (/ui/...) with links on its
// own URL.
type fakeNetwork struct {
	*fakeOry
	mu      sync.Mutex
	emailed []string
}

const projectKey = "ory_pat_PROJECT"

func newFakeNetwork(t *testing.T) *fakeNetwork {
	n := &fakeNetwork{}
	n.fakeOry = newFakeOry(t, func(w http.ResponseWriter, r *http.Request) {
		own := n.URL
		if r.Header.Get("Ory-No-Custom-Domain-Redirect") != "true" {
			http.Redirect(w, r, "https://auth.custom.example"+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		switch r.URL.Path {
		case "/self-service/recovery":
			base := own
			if r.Header.Get("Ory-Base-URL-Rewrite-Token") == projectKey {
				base = r.Header.Get("Ory-Base-URL-Rewrite")
			}
			n.mu.Lock()
			n.emailed = append(n.emailed, base+"/self-service/recovery?token=abc")
			n.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"ui": map[string]any{"action": own + "/self-service/recovery?flow=f1"},
			})
		case "/self-service/login/browser":
			http.Redirect(w, r, own+"/ui/login?flow=f2", http.StatusSeeOther)
		case "/ui/login":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, `<script src="`+own+`/ui/_next/static/chunks/main.js"></script>`+
				`<link href="/ui/_next/static/app.css">`+
				`<form action="`+own+`/self-service/login?flow=f2" method="post"></form>`+
				`<a href="`+own+`/ui/registration">Sign up</a>`+
				`<script id="__NEXT_DATA__" type="application/json">{"sdk":"`+strings.ReplaceAll(own, "/", `\/`)+`"}</script>`)
		case "/ui/_next/static/chunks/main.js":
			w.Header().Set("Content-Type", "application/javascript")
			_, _ = io.WriteString(w, `fetch("`+own+`/sessions/whoami",{credentials:"include"})`)
		default:
			http.NotFound(w, r)
		}
	})
	return n
}

func (n *fakeNetwork) lastEmailed() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.emailed) == 0 {
		return ""
	}
	return n.emailed[len(n.emailed)-1]
}

// TestOryNetwork: the base-URL rewriting headers reach Ory Network on
// every request, the token only with an API key, and the Account
// Experience's pages and scripts come back on the app.
func TestOryNetwork(t *testing.T) {
	n := newFakeNetwork(t)
	p, logs := newProxy(t, n.fakeOry, Config{AppURL: "http://localhost:3000", APIKey: projectKey})

	tests := []struct {
		method, target string
		status         int
		want           []string // substrings of the body or the Location
	}{
		{"GET", "/.ory/self-service/login/browser", http.StatusSeeOther, []string{"http://localhost:3000/.ory/ui/login?flow=f2"}},
		{"GET", "/.ory/ui/login?flow=f2", http.StatusOK, []string{
			`<script src="http://localhost:3000/.ory/ui/_next/static/chunks/main.js">`,
			`<link href="/ui/_next/static/app.css">`, // root-relative: left as Ory wrote it (see README)
			`action="http://localhost:3000/.ory/self-service/login?flow=f2"`,
			`href="http://localhost:3000/.ory/ui/registration"`,
			`{"sdk":"http:\/\/localhost:3000\/.ory"}`,
		}},
		{"GET", "/.ory/ui/_next/static/chunks/main.js", http.StatusOK, []string{`fetch("http://localhost:3000/.ory/sessions/whoami"`}},
		{"POST", "/.ory/self-service/recovery?flow=f1", http.StatusOK, []string{`"action":"http://localhost:3000/.ory/self-service/recovery?flow=f1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := do(p, tt.method, tt.target, strings.NewReader(""), http.Header{
				"Ory-Base-Url-Rewrite":       {"https://evil.example"},
				"Ory-Base-Url-Rewrite-Token": {"forged"},
			})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			got := w.Body.String() + w.Header().Get("Location")
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("missing %s in\n%s", want, got)
				}
			}
			if strings.Contains(got, n.URL) {
				t.Errorf("Ory Network's URL reached the browser:\n%s", got)
			}
		})
	}
	for _, s := range n.requests() {
		if s.Header.Get("Ory-Base-Url-Rewrite") != "http://localhost:3000/.ory" ||
			s.Header.Get("Ory-Base-Url-Rewrite-Token") != projectKey ||
			s.Header.Get("Ory-No-Custom-Domain-Redirect") != "true" {
			t.Errorf("%s reached Ory Network with %q", s.Path, s.Header)
		}
	}
	if got := n.lastEmailed(); got != "http://localhost:3000/.ory/self-service/recovery?token=abc" {
		t.Errorf("emailed link %q, want it on the app", got)
	}
	if strings.Contains(logs.String(), projectKey) {
		t.Errorf("the API key was logged")
	}

	// Without a key Ory Network keeps email links on its own URL, and a
	// client cannot make up for it with its own headers.
	p, _ = newProxy(t, n.fakeOry, Config{AppURL: "http://localhost:3000"})
	do(p, "POST", "/.ory/self-service/recovery?flow=f1", strings.NewReader(""), http.Header{
		"Ory-Base-Url-Rewrite-Token": {projectKey},
	})
	if got := n.lastEmailed(); !strings.HasPrefix(got, n.URL+"/") {
		t.Errorf("without an API key, emailed link %q, want it on Ory", got)
	}
}
