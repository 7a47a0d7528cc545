package ui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	client "github.com/ory/client-go"
)

// Flows serves the pages a self-hosted Kratos sends browsers to
// (selfservice.flows.*.ui_url): /login, /registration, /settings and
// /error. Each page fetches its flow from Ory (through the app's own Ory
// proxy, with NewOry) with the browser's CSRF and session cookies and
// renders the flow's UI nodes as a plain HTML form that posts to the flow's
// action: on the app's origin through the proxy. Ory Network projects use
// the hosted Account Experience instead and never send browsers here.
type Flows struct {
	ory string
	api *client.APIClient
}

// NewFlows returns the flow pages for the Ory (Kratos) public API at
// oryURL, which browsers reach directly. The example apps use NewOry
// instead, whose pages go through the app's own Ory proxy.
func NewFlows(oryURL string) *Flows {
	return newFlows(oryURL, nil)
}

// newFlows returns the flow pages for Ory at oryURL, as browsers reach it;
// transport, when not nil, carries the pages' own requests there.
func newFlows(oryURL string, transport http.RoundTripper) *Flows {
	cfg := client.NewConfiguration()
	base := strings.TrimRight(oryURL, "/")
	cfg.Servers = client.ServerConfigurations{{URL: base}}
	cfg.HTTPClient = &http.Client{
		Transport:     transport,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cfg.UserAgent = "oryguard-example"
	return &Flows{ory: base, api: client.NewAPIClient(cfg)}
}

// Paths are the paths of the flow pages, for the apps to register with GET.
var Paths = []string{"/login", "/registration", "/settings", "/error"}

// Pages maps each of Paths to a net/http handler.
func (f *Flows) Pages() map[string]http.Handler {
	pages := make(map[string]http.Handler, len(Paths))
	for _, path := range Paths {
		pages[path] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.Serve(r.Context(), path, r.URL.RawQuery, strings.Join(r.Header.Values("Cookie"), "; ")).Write(w)
		})
	}
	return pages
}

// Page is a flow page's answer: a redirect (Location set) or HTML (Body).
type Page struct {
	Status   int
	Location string
	Body     []byte
}

// Write sends p with net/http.
func (p Page) Write(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	if p.Location != "" {
		w.Header().Set("Location", p.Location)
	} else {
		w.Header().Set("Content-Type", HTML)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(p.Body)
}

// Serve answers a GET of the flow page at path (one of Paths) with the raw
// query and the browser's Cookie header, for frameworks that are not
// net/http underneath (Fiber). Only Ory's cookies are sent to Ory.
func (f *Flows) Serve(ctx context.Context, path, rawQuery, cookie string) Page {
	query, _ := url.ParseQuery(rawQuery)
	cookie = oryCookies(cookie)
	switch path {
	case "/login":
		return f.flow(ctx, login, query, cookie)
	case "/registration":
		return f.flow(ctx, registration, query, cookie)
	case "/settings":
		return f.flow(ctx, settings, query, cookie)
	case "/error":
		return f.errorPage(ctx, query)
	}
	return render(http.StatusNotFound, flowView{Title: "Not found", Links: []link{{Href: "/", Text: "Home"}}})
}

type kind string

const (
	login        kind = "login"
	registration kind = "registration"
	settings     kind = "settings"
)

// startParams are the query parameters a page passes on when it starts a
// new flow.
var startParams = map[kind][]string{
	login:        {"return_to", "refresh", "aal"},
	registration: {"return_to"},
	settings:     {"return_to"},
}

// fetched is what the three flow types have in common.
type fetched struct {
	ui       client.UiContainer
	returnTo string
	refresh  bool
	aal      string
}

func (f *Flows) fetch(ctx context.Context, k kind, id, cookie string) (*fetched, *http.Response, error) {
	switch k {
	case login:
		fl, resp, err := f.api.FrontendAPI.GetLoginFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return nil, resp, err
		}
		out := &fetched{ui: fl.Ui, returnTo: fl.GetReturnTo(), refresh: fl.GetRefresh()}
		if fl.RequestedAal != nil {
			out.aal = string(*fl.RequestedAal)
		}
		return out, resp, nil
	case registration:
		fl, resp, err := f.api.FrontendAPI.GetRegistrationFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return nil, resp, err
		}
		return &fetched{ui: fl.Ui, returnTo: fl.GetReturnTo()}, resp, nil
	default:
		fl, resp, err := f.api.FrontendAPI.GetSettingsFlow(ctx).Id(id).Cookie(cookie).Execute()
		if err != nil {
			return nil, resp, err
		}
		return &fetched{ui: fl.Ui, returnTo: fl.GetReturnTo()}, resp, nil
	}
}

func (f *Flows) flow(ctx context.Context, k kind, query url.Values, cookie string) Page {
	id := query.Get("flow")
	if id == "" {
		return f.start(k, query)
	}
	fl, resp, err := f.fetch(ctx, k, id, cookie)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err == nil {
		return render(http.StatusOK, view(k, fl))
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	switch {
	case status == http.StatusForbidden && !strings.Contains(cookie, "csrf_token"):
		// Without the CSRF cookie a new flow would fail the same way.
		return render(http.StatusForbidden, flowView{
			Title: "Cookies did not arrive",
			Messages: []message{{Type: "error", Text: "This page did not receive Ory's CSRF cookie. " +
				"Open the app on the same host name as Ory (127.0.0.1 and localhost are different hosts) and allow cookies."}},
			Links: []link{{Href: "/" + string(k), Text: "Try again"}},
		})
	case status == http.StatusNotFound || status == http.StatusGone || status == http.StatusForbidden:
		return f.start(k, query) // expired, unknown or from another browser: start afresh
	}
	slog.ErrorContext(ctx, "fetch flow", "kind", k, "status", status, "error", err)
	return render(http.StatusBadGateway, flowView{
		Title:    "Ory is not reachable",
		Messages: []message{{Type: "error", Text: fmt.Sprintf("Could not load the %s flow from %s.", k, f.ory)}},
		Links:    []link{{Href: "/" + string(k), Text: "Try again"}},
	})
}

// start sends the browser to Ory to create a new flow, which sends it back
// here with ?flow=<id>.
func (f *Flows) start(k kind, query url.Values) Page {
	q := url.Values{}
	for _, p := range startParams[k] {
		if v := query.Get(p); v != "" {
			q.Set(p, v)
		}
	}
	loc := f.ory + "/self-service/" + string(k) + "/browser"
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	return Page{Status: http.StatusSeeOther, Location: loc}
}

func (f *Flows) errorPage(ctx context.Context, query url.Values) Page {
	id := query.Get("id") // Kratos sends ?id=; accept ?flow= too
	if id == "" {
		id = query.Get("flow")
	}
	v := flowView{Title: "Something went wrong", Links: []link{{Href: "/", Text: "Home"}, {Href: "/login", Text: "Sign in"}}}
	if id == "" {
		v.Messages = []message{{Type: "error", Text: "An unknown error occurred."}}
		return render(http.StatusOK, v)
	}
	fe, resp, err := f.api.FrontendAPI.GetFlowError(ctx).Id(id).Execute()
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			status = http.StatusNotFound
		}
		v.Messages = []message{{Type: "error", Text: "The error could not be loaded from Ory: " + err.Error()}}
		return render(status, v)
	}
	for _, key := range []string{"message", "reason"} {
		if s, ok := fe.Error[key].(string); ok && s != "" {
			v.Messages = append(v.Messages, message{Type: "error", Text: s})
		}
	}
	if len(v.Messages) == 0 {
		v.Messages = []message{{Type: "error", Text: fmt.Sprint(fe.Error)}}
	}
	return render(http.StatusOK, v)
}

// oryCookies keeps the part of a Cookie header that Ory needs: its CSRF
// cookie (csrf_token_*) and its session and continuity cookies (ory_*). The
// app's other cookies stay with the app.
func oryCookies(header string) string {
	var parts []string
	for part := range strings.SplitSeq(header, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && (strings.HasPrefix(name, "csrf_token") || strings.HasPrefix(name, "ory_")) {
			parts = append(parts, name+"="+value)
		}
	}
	return strings.Join(parts, "; ")
}

// flowView is what flow.html renders.
type flowView struct {
	Title    string
	Intro    string
	Messages []message
	Forms    []form
	Links    []link
}

type message struct{ Type, Text string }

type link struct{ Href, Text string }

type form struct {
	Title  string
	Action string
	Method string
	Fields []field
}

// field is one UI node. Kind is input, hidden, submit, checkbox, text, img
// or a.
type field struct {
	Kind         string
	Name         string
	Type         string
	Value        string
	Label        string
	Required     bool
	Disabled     bool
	Autocomplete string
	ID           string
	Src          template.URL
	Width        int64
	Height       int64
	Messages     []message
}

var groupTitles = map[string]string{
	"profile":       "Profile",
	"password":      "Password",
	"totp":          "Authenticator app (TOTP)",
	"lookup_secret": "Backup codes",
	"oidc":          "Social sign-in",
}

func view(k kind, fl *fetched) flowView {
	v := flowView{Messages: messages(fl.ui.Messages)}
	switch k {
	case login:
		v.Title = "Sign in"
		switch {
		case fl.aal == string(client.AUTHENTICATORASSURANCELEVEL_AAL2):
			v.Title = "Second factor"
		case fl.refresh:
			v.Title = "Confirm it's you"
		}
		v.Links = []link{{Href: withReturnTo("/registration", fl.returnTo), Text: "No account? Sign up"}}
	case registration:
		v.Title = "Create an account"
		v.Links = []link{{Href: withReturnTo("/login", fl.returnTo), Text: "Have an account? Sign in"}}
	case settings:
		v.Title = "Account settings"
		v.Links = []link{{Href: "/dashboard", Text: "Back to the dashboard"}}
	}
	v.Links = append(v.Links, link{Href: "/", Text: "Home"})

	if k != settings {
		// Login and registration are one form: every method shares it.
		v.Forms = []form{{Action: fl.ui.Action, Method: fl.ui.Method, Fields: fields(fl.ui.Nodes)}}
		return v
	}
	// Settings: one form per method, each with the shared nodes (CSRF).
	var shared []client.UiNode
	var order []string
	groups := map[string][]client.UiNode{}
	for _, n := range fl.ui.Nodes {
		if n.Group == "default" {
			shared = append(shared, n)
			continue
		}
		if _, ok := groups[n.Group]; !ok {
			order = append(order, n.Group)
		}
		groups[n.Group] = append(groups[n.Group], n)
	}
	for _, g := range order {
		own := fields(groups[g])
		if len(own) == 0 {
			continue // a method that needs JavaScript (WebAuthn, passkeys)
		}
		title := groupTitles[g]
		if title == "" {
			title = g
		}
		v.Forms = append(v.Forms, form{Title: title, Action: fl.ui.Action, Method: fl.ui.Method, Fields: append(fields(shared), own...)})
	}
	return v
}

func withReturnTo(path, returnTo string) string {
	if returnTo == "" {
		return path
	}
	return path + "?" + url.Values{"return_to": {returnTo}}.Encode()
}

// fields turns UI nodes into form fields. Script nodes and buttons that
// need JavaScript (WebAuthn, passkeys) are left out: these pages have none.
func fields(nodes []client.UiNode) []field {
	var out []field
	for _, n := range nodes {
		label := ""
		if n.Meta.Label != nil {
			label = n.Meta.Label.Text
		}
		f := field{Label: label, Messages: messages(n.Messages)}
		a := n.Attributes
		switch {
		case a.UiNodeInputAttributes != nil:
			in := a.UiNodeInputAttributes
			if in.Onclick != nil || in.OnclickTrigger != nil || in.Type == "button" {
				continue
			}
			f.Name, f.Type, f.Disabled = in.Name, in.Type, in.Disabled
			f.Required = in.Required != nil && *in.Required
			if in.Autocomplete != nil {
				f.Autocomplete = *in.Autocomplete
			}
			if in.Value != nil && in.Type != "password" {
				f.Value = fmt.Sprint(in.Value)
			}
			switch in.Type {
			case "hidden":
				f.Kind = "hidden"
			case "submit":
				f.Kind = "submit"
			case "checkbox":
				f.Kind = "checkbox"
				f.Value = "true"
			default:
				f.Kind = "input"
			}
			if f.Label == "" && in.Label != nil {
				f.Label = in.Label.Text
			}
		case a.UiNodeTextAttributes != nil:
			t := a.UiNodeTextAttributes
			f.Kind, f.ID, f.Value = "text", t.Id, t.Text.Text
		case a.UiNodeImageAttributes != nil:
			img := a.UiNodeImageAttributes
			// Only inline images (the TOTP QR code) are shown.
			if !strings.HasPrefix(img.Src, "data:image/png;base64,") {
				continue
			}
			f.Kind, f.ID, f.Width, f.Height = "img", img.Id, img.Width, img.Height
			f.Src = template.URL(img.Src) // a data:image/png URL from Ory, checked above
		case a.UiNodeAnchorAttributes != nil:
			an := a.UiNodeAnchorAttributes
			f.Kind, f.ID, f.Value, f.Label = "a", an.Id, an.Href, an.Title.Text
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

func messages(in []client.UiText) []message {
	out := make([]message, 0, len(in))
	for _, m := range in {
		out = append(out, message{Type: m.Type, Text: m.Text})
	}
	return out
}

func render(status int, v flowView) Page {
	var buf bytes.Buffer
	if err := Render(&buf, flowPage, v); err != nil {
		slog.Error("render flow page", "error", err)
		return Page{Status: http.StatusInternalServerError, Body: []byte("could not render the page")}
	}
	return Page{Status: status, Body: buf.Bytes()}
}
