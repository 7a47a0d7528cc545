// Package ui holds what the four example apps share: their settings from
// the environment, the HTML pages (html/template, no JavaScript) and the
// self-service pages that render Ory Kratos' login, registration, settings
// and error flows. The apps themselves only wire routes.
package ui

import (
	"embed"
	"html/template"
	"io"
	"mime"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
)

// Env is the apps' configuration, read from the environment.
type Env struct {
	// OryURL is $ORY_SDK_URL: an Ory Network project URL, the `ory tunnel`
	// URL (http://localhost:4000) or a Kratos public URL. Default: the local
	// Kratos of `make demo`, http://127.0.0.1:4433.
	OryURL string
	// AppURL is $APP_URL, the app's public base URL (core.Config.AppURL).
	// Empty means relative return_to URLs.
	AppURL string
	// Addr is where the app listens: $LISTEN_HOST:$PORT, default 127.0.0.1:4455.
	Addr string
	// PermissionsURL is $ORY_PERMISSIONS_URL, Ory Permissions' read API for
	// the /docs/{id} route (core.PermissionsConfig.URL): a self-hosted
	// Keto's read port (`make demo`: http://127.0.0.1:4466). Empty means
	// OryURL, right for Ory Network (which also needs an API key:
	// $ORY_API_KEY).
	PermissionsURL string
	// APIKey is $ORY_API_KEY, sent to Ory Permissions as a bearer token.
	APIKey string
}

// FromEnv reads ORY_SDK_URL, APP_URL, LISTEN_HOST, PORT,
// ORY_PERMISSIONS_URL and ORY_API_KEY.
func FromEnv() Env {
	e := Env{OryURL: os.Getenv("ORY_SDK_URL"), AppURL: os.Getenv("APP_URL"),
		PermissionsURL: os.Getenv("ORY_PERMISSIONS_URL"), APIKey: os.Getenv("ORY_API_KEY")}
	if e.OryURL == "" {
		e.OryURL = "http://127.0.0.1:4433"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "4455"
	}
	host := os.Getenv("LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	e.Addr = net.JoinHostPort(host, port)
	return e
}

// Profile is what the pages and the JSON endpoints show about a session.
type Profile struct {
	ID              string     `json:"id"`
	IdentityID      string     `json:"identity_id"`
	Email           string     `json:"email"`
	AAL             string     `json:"aal,omitempty"`
	AuthenticatedAt *time.Time `json:"authenticated_at,omitempty"`
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
}

// Traits mirrors the identity schema's traits.
type Traits struct {
	Email string `json:"email"`
}

// ProfileOf describes s; it returns nil for a nil session (an anonymous
// visitor on an optional route).
func ProfileOf(s *client.Session) *Profile {
	if s == nil {
		return nil
	}
	t, _ := core.Traits[Traits](s) // a session without traits shows no email
	p := &Profile{ID: s.Id, Email: t.Email, AuthenticatedAt: s.AuthenticatedAt, ExpiresAt: s.ExpiresAt}
	if s.Identity != nil {
		p.IdentityID = s.Identity.Id
	}
	if s.AuthenticatorAssuranceLevel != nil {
		p.AAL = string(*s.AuthenticatorAssuranceLevel)
	}
	return p
}

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"stamp": func(t *time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 MST") },
	"iso":   func(t *time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
}).ParseFS(templateFS, "templates/*.html"))

// Page names for Render and the frameworks' own renderers.
const (
	HomePage      = "home.html"      // data: *Profile, nil when anonymous
	DashboardPage = "dashboard.html" // data: *Profile
	DocumentPage  = "document.html"  // data: Document
	flowPage      = "flow.html"      // data: flowView
)

// Templates is the parsed template set; pages are executed by name.
func Templates() *template.Template { return templates }

// Render writes the named page.
func Render(w io.Writer, name string, data any) error {
	return templates.ExecuteTemplate(w, name, data)
}

// HTML is the Content-Type of every page.
const HTML = "text/html; charset=utf-8"

// WantsJSON reports whether an Accept header ranks JSON above HTML, which
// is how /dashboard decides between its HTML page and its JSON view.
func WantsJSON(accept string) bool {
	jsonQ, htmlQ := 0.0, 0.0
	for item := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			jsonQ = max(jsonQ, q)
		case mt == "text/html" || mt == "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}
