package conformance

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// Permission checks (core.Permit) whose object is a path parameter
// (core.PathParam): the guard's answers on a route with a parameter, the
// object Keto receives for hostile encodings, and what the framework's
// app-wide mount sees.

// ParamTarget is implemented by a Target whose framework routes path
// parameters. The suite's permission rows run through it: core.Permit
// with core.PathParam("id") on the route /docs/{id}, against a fake Ory
// Permissions (orytest.Keto). A Target without it skips them.
type ParamTarget interface {
	Target

	// ProtectedParam is Protected with the protected handler on the route
	// /docs/{id} for every method (net/http's pattern; /docs/:id in Gin,
	// Echo and Fiber), and the middleware mounted where the framework has
	// matched that route, as the adapter's README tells apps to for
	// core.PathParam: on the route itself (net/http: around the handler
	// registered on the pattern). Other paths get the framework's 404.
	ProtectedParam(guard *core.Guard, opts []core.Option, probe *Probe) Server

	// ProtectedParamWithConfig is ProtectedWithConfig on that route,
	// mounted the same way.
	ProtectedParamWithConfig(guard *core.Guard, cfg TargetConfig, probe *Probe) Server

	// ProtectedGlobal mounts the short form, Middleware(guard, opts...),
	// the framework's usual app-wide way (around the whole ServeMux, Gin's
	// r.Use, Echo's e.Use, Fiber's app.Use) in front of the protected
	// handler on the same route, and reports whether the middleware sees
	// the route's path parameters there, as the adapter's README says.
	// Where it does not, the suite checks that such a mount denies every
	// request rather than letting any through.
	ProtectedGlobal(guard *core.Guard, opts []core.Option, probe *Probe) (srv Server, seesParams bool)
}

// paramRoute presents a ParamTarget's route with a path parameter as a
// Target, so that the table's runner mounts it in every form.
type paramRoute struct{ ParamTarget }

func (p paramRoute) Protected(guard *core.Guard, opts []core.Option, probe *Probe) Server {
	return p.ProtectedParam(guard, opts, probe)
}

func (p paramRoute) ProtectedWithConfig(guard *core.Guard, cfg TargetConfig, probe *Probe) Server {
	return p.ProtectedParamWithConfig(guard, cfg, probe)
}

// paramRouteReturner is a paramRoute of an ErrorReturner.
type paramRouteReturner struct{ paramRoute }

func (paramRouteReturner) ReturnsErrors() {}

// runPermissions runs the permission rows through every target that
// implements ParamTarget, with the session cache off and on, then the
// hostile encodings and the app-wide mount.
func runPermissions(t *testing.T, targets []Target) {
	t.Helper()
	var routes []Target
	var pts []ParamTarget
	for _, tg := range targets {
		pt, ok := tg.(ParamTarget)
		if !ok {
			continue
		}
		pts = append(pts, pt)
		if _, ok := tg.(ErrorReturner); ok {
			routes = append(routes, paramRouteReturner{paramRoute{pt}})
		} else {
			routes = append(routes, paramRoute{pt})
		}
	}
	t.Run("permissions", func(t *testing.T) {
		if len(pts) == 0 {
			t.Skip("no target implements conformance.ParamTarget")
		}
		runTable(t, permissionCases(), routes...)
		runParamEncodings(t, pts)
		runGlobalMount(t, pts)
	})
}

// The permission rows' names and texts.
const (
	docNamespace = "Document"
	viewRelation = "view"
	editRelation = "edit"

	reasonPermDenied  = "You do not have permission to access this resource."
	reasonPermFailed  = "Permissions could not be checked because Ory Permissions is unavailable."
	reasonPermTimeout = "Permissions could not be checked in time."
	reasonPermLimited = "Ory Permissions is rate-limiting checks; try again later."
)

// viewDoc is the rows' usual permission: view on the Document named by
// the path parameter id.
func viewDoc(opts ...core.PermitOption) core.Option {
	return core.Permit(docNamespace, viewRelation, core.PathParam("id"), opts...)
}

// reader is the session of the permission rows: identity "identity-s-reader".
func reader() orytest.Tuple { return orytest.Tuple{SubjectID: "identity-s-reader"} }

const readerEmail = "reader@example.com"

// may is the tuple: the reader has relation on Document:object.
func may(relation, object string) orytest.Tuple {
	t := reader()
	t.Namespace, t.Object, t.Relation = docNamespace, object, relation
	return t
}

// grant adds tuples to the fake Keto and registers the reader's session
// under cred.
func grant(cred string, ts ...orytest.Tuple) func(*caseEnv) {
	return func(e *caseEnv) {
		e.Ory.Session(e.Cred(cred), active("s-reader", readerEmail))
		for _, t := range ts {
			e.Keto.Add(t)
		}
	}
}

// withKeto is o after calls to Keto that asked about ts, one tuple per
// call (checks without Batch).
func (o Outcome) withKeto(ts ...orytest.Tuple) Outcome {
	o.Keto = sortTuples(append(o.Keto, ts...))
	o.KetoCalls += len(ts)
	return o
}

// ketoFails makes every check get r, with the reader's session under
// cred.
func ketoFails(cred string, r orytest.Reply) func(*caseEnv) {
	return func(e *caseEnv) {
		grant(cred)(e)
		e.Keto.ReplyAll(&r)
	}
}

// ketoTimeout bounds the permission checks of a row that makes Keto hang.
const ketoTimeout = 150 * time.Millisecond

// permissionCases are the permission rows, on the route /docs/{id}.
func permissionCases() []tableCase {
	token := func(cred string) reqOpt { return header("X-Session-Token", cred) }
	kratos := func(cred string) reqOpt { return cookie(kratosCookie, cred) }
	return []tableCase{
		// --- allowed and denied ------------------------------------------------
		{
			Name:    "permit/allowed: API token",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-allowed", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-1", token("p-allowed")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-allowed"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/allowed: browser cookie",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-allowed-browser", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-1", browser, kratos("p-allowed-browser")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiCookie(kratosCookie+"="+e.Cred("p-allowed-browser"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/allowed twice: Keto is asked each time (no permission cache by default)",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-twice", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-1", token("p-twice")),
			Repeat:  2,
			Want: func(e *caseEnv) Outcome {
				o := allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-twice")))
				if !e.Cache {
					o = o.with(whoamiToken(e.Cred("p-twice")))
				}
				o.HandlerRuns = 2
				return o.withKeto(may(viewRelation, "doc-1"), may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/denied: API gets 403 JSON",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-denied", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-2", token("p-denied")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "", reasonPermDenied, "").with(whoamiToken(e.Cred("p-denied"))).withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/denied: browser gets the forbidden page, not a login redirect",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-denied-browser"),
			Request: get("/docs/doc-2", browser, kratos("p-denied-browser")),
			Want: func(e *caseEnv) Outcome {
				return browserError(403, reasonPermDenied).with(whoamiCookie(kratosCookie + "=" + e.Cred("p-denied-browser"))).withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/denied: the ErrorHandler gets ErrPermissionDenied (ErrForbidden), browser",
			Errors:  ErrorsPage,
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-denied-page"),
			Request: get("/docs/doc-2", browser, kratos("p-denied-page")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrForbidden+ErrPermissionDenied", 403, false, nil), whoamiCookie(kratosCookie+"="+e.Cred("p-denied-page"))).withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/denied: the ErrorHandler gets ErrPermissionDenied (ErrForbidden), API",
			Errors:  ErrorsPage,
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-denied-page-api"),
			Request: get("/docs/doc-2", token("p-denied-page-api")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrForbidden+ErrPermissionDenied", 403, true, nil), whoamiToken(e.Cred("p-denied-page-api"))).withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/denied: returned to the framework's error handler once",
			Errors:  ErrorsReturn,
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-denied-return"),
			Request: get("/docs/doc-2", token("p-denied-return")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrForbidden+ErrPermissionDenied", 403, true, nil)
				return Outcome{
					Status: 403, Body: "framework: 403 ErrForbidden+ErrPermissionDenied\n", ContentType: PageContentType,
					Errors: []Seen{d}, FrameworkErrors: []Seen{d},
					Ory: []orytest.Recorded{whoamiToken(e.Cred("p-denied-return"))},
				}.withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/several: each asked, concurrently, all allowed",
			Options: []core.Option{viewDoc(), core.Permit(docNamespace, editRelation, core.PathParam("id"))},
			Setup:   grant("p-several", may(viewRelation, "doc-4"), may(editRelation, "doc-4")),
			Request: get("/docs/doc-4", token("p-several")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-several"))).
					withKeto(may(viewRelation, "doc-4"), may(editRelation, "doc-4"))
			},
		},
		{
			Name:    "permit/several, batch: one call, every one required",
			Options: []core.Option{viewDoc(), core.Permit(docNamespace, editRelation, core.PathParam("id"))},
			Config:  func(_ *caseEnv, cfg *core.Config) { cfg.Permissions.Batch = true },
			Setup:   grant("p-batch", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-1", token("p-batch")),
			Want: func(e *caseEnv) Outcome {
				o := apiError(403, "", reasonPermDenied, "").with(whoamiToken(e.Cred("p-batch"))).
					withKeto(may(viewRelation, "doc-1"), may(editRelation, "doc-1"))
				o.KetoCalls = 1
				return o
			},
		},
		{
			Name:    "permit/subject set: the reader's group may view",
			Options: []core.Option{viewDoc(core.SubjectSet("Group", "member"))},
			Setup: grant("p-set", orytest.Tuple{
				Namespace: docNamespace, Object: "doc-3", Relation: viewRelation,
				SetNamespace: "Group", SetObject: "identity-s-reader", SetRelation: "member",
			}),
			Request: get("/docs/doc-3", token("p-set")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-set"))).withKeto(orytest.Tuple{
					Namespace: docNamespace, Object: "doc-3", Relation: viewRelation,
					SetNamespace: "Group", SetObject: "identity-s-reader", SetRelation: "member",
				})
			},
		},

		// --- the object --------------------------------------------------------
		{
			Name:    "permit/empty object: 403 without asking Keto (a parameter the route does not have)",
			Options: []core.Option{core.Permit(docNamespace, viewRelation, core.PathParam("missing"))},
			Setup:   grant("p-empty"),
			Request: get("/docs/doc-1", token("p-empty")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "", reasonPermDenied, "").with(whoamiToken(e.Cred("p-empty")))
			},
		},
		{
			Name:    "permit/hostile object: the decoded segment, whole, as the object",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-hostile", may(viewRelation, "Group:eng#member@x")),
			Request: get("/docs/Group%3Aeng%23member%40x", token("p-hostile")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-hostile"))).withKeto(may(viewRelation, "Group:eng#member@x"))
			},
		},

		{
			Name:    "permit/object not valid UTF-8 after decoding: 403 without asking Keto",
			Options: []core.Option{viewDoc()},
			Setup:   grant("p-utf8"),
			Request: get("/docs/a%FFb", token("p-utf8")),
			Want: func(e *caseEnv) Outcome {
				return apiError(403, "", reasonPermDenied, "").with(whoamiToken(e.Cred("p-utf8")))
			},
		},

		// --- Keto failing: never an allow, never a login ----------------------
		{
			Name:    "permit/Keto 500: 502, API",
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-500", orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}),
			Request: get("/docs/doc-1", token("p-500")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonPermFailed, "").with(whoamiToken(e.Cred("p-500"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto 503: 502, browser, no login redirect",
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-503", orytest.Reply{Status: 503}),
			Request: get("/docs/doc-1", browser, kratos("p-503")),
			Want: func(e *caseEnv) Outcome {
				return browserError(502, reasonPermFailed).with(whoamiCookie(kratosCookie + "=" + e.Cred("p-503"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto 500: the ErrorHandler gets ErrPermissionsUnavailable (ErrOryUnavailable)",
			Errors:  ErrorsPage,
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-500-page", orytest.Reply{Status: 500}),
			Request: get("/docs/doc-1", browser, kratos("p-500-page")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrOryUnavailable+ErrPermissionsUnavailable", 502, false, nil), whoamiCookie(kratosCookie+"="+e.Cred("p-500-page"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto answers what is not JSON: 502",
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-html", orytest.Reply{Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>allowed</html>")}),
			Request: get("/docs/doc-1", token("p-html")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonPermFailed, "").with(whoamiToken(e.Cred("p-html"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto answers too much: 502",
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-huge", orytest.Reply{Body: []byte(`{"allowed":true,"x":"` + strings.Repeat("a", 1<<20) + `"}`)}),
			Request: get("/docs/doc-1", token("p-huge")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonPermFailed, "").with(whoamiToken(e.Cred("p-huge"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto unreachable: 502",
			Options: []core.Option{viewDoc()},
			Config:  func(e *caseEnv, cfg *core.Config) { cfg.Permissions.URL = e.ClosedURL },
			Setup:   grant("p-down"),
			Request: get("/docs/doc-1", browser, kratos("p-down")),
			Want: func(e *caseEnv) Outcome {
				return browserError(502, reasonPermFailed).with(whoamiCookie(kratosCookie + "=" + e.Cred("p-down")))
			},
		},
		{
			Name:    "permit/Keto times out: 504",
			Options: []core.Option{viewDoc()},
			Config:  func(_ *caseEnv, cfg *core.Config) { cfg.Permissions.Timeout = ketoTimeout },
			Setup:   ketoFails("p-hang", orytest.Reply{Hang: true}),
			Request: get("/docs/doc-1", token("p-hang")),
			Want: func(e *caseEnv) Outcome {
				return apiError(504, "", reasonPermTimeout, "").with(whoamiToken(e.Cred("p-hang"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto times out: the ErrorHandler gets ErrOryTimeout",
			Errors:  ErrorsPage,
			Options: []core.Option{viewDoc()},
			Config:  func(_ *caseEnv, cfg *core.Config) { cfg.Permissions.Timeout = ketoTimeout },
			Setup:   ketoFails("p-hang-page", orytest.Reply{Hang: true}),
			Request: get("/docs/doc-1", browser, kratos("p-hang-page")),
			Want: func(e *caseEnv) Outcome {
				return custom(denial("ErrOryTimeout", 504, false, nil), whoamiCookie(kratosCookie+"="+e.Cred("p-hang-page"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/Keto 429: 429 with its Retry-After",
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-429", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: []byte(`{"error":{"code":429}}`)}),
			Request: get("/docs/doc-1", token("p-429")),
			Want: func(e *caseEnv) Outcome {
				o := apiError(429, "", reasonPermLimited, "").with(whoamiToken(e.Cred("p-429"))).withKeto(may(viewRelation, "doc-1"))
				o.RetryAfter = "7"
				return o
			},
		},
		{
			Name:    "permit/Keto 429: the ErrorHandler gets ErrRateLimited with RetryAfter",
			Errors:  ErrorsPage,
			Options: []core.Option{viewDoc()},
			Setup:   ketoFails("p-429-page", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}}),
			Request: get("/docs/doc-1", browser, kratos("p-429-page")),
			Want: func(e *caseEnv) Outcome {
				d := denial("ErrRateLimited", 429, false, nil)
				d.RetryAfter = 7
				return custom(d, whoamiCookie(kratosCookie+"="+e.Cred("p-429-page"))).withKeto(may(viewRelation, "doc-1"))
			},
		},

		// --- optional routes ----------------------------------------------------
		{
			Name:    "permit/optional, anonymous: the handler runs without asking Keto",
			Options: []core.Option{core.Optional(), viewDoc()},
			Request: get("/docs/doc-1", browser),
			Want: func(*caseEnv) Outcome {
				return anonymous(why("ErrNoSession", false))
			},
		},
		{
			Name:    "permit/optional, session allowed",
			Options: []core.Option{core.Optional(), viewDoc()},
			Setup:   grant("p-opt-allowed", may(viewRelation, "doc-1")),
			Request: get("/docs/doc-1", token("p-opt-allowed")),
			Want: func(e *caseEnv) Outcome {
				return allowed("s-reader", readerEmail, whoamiToken(e.Cred("p-opt-allowed"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
		{
			Name:    "permit/optional, session denied: 403 as on a required route",
			Options: []core.Option{core.Optional(), viewDoc()},
			Setup:   grant("p-opt-denied"),
			Request: get("/docs/doc-2", browser, kratos("p-opt-denied")),
			Want: func(e *caseEnv) Outcome {
				return browserError(403, reasonPermDenied).with(whoamiCookie(kratosCookie + "=" + e.Cred("p-opt-denied"))).withKeto(may(viewRelation, "doc-2"))
			},
		},
		{
			Name:    "permit/optional, session, Keto down: 502 as on a required route",
			Options: []core.Option{core.Optional(), viewDoc()},
			Setup:   ketoFails("p-opt-500", orytest.Reply{Status: 500}),
			Request: get("/docs/doc-1", token("p-opt-500")),
			Want: func(e *caseEnv) Outcome {
				return apiError(502, "", reasonPermFailed, "").with(whoamiToken(e.Cred("p-opt-500"))).withKeto(may(viewRelation, "doc-1"))
			},
		},
	}
}

// paramEncodings are path segments as a client sends them, and the object
// Keto must receive: the segment percent-decoded exactly once, whole, as
// the object (never a namespace, relation or subject). A framework may
// refuse to route some (Gin's default router sees an encoded slash as a
// slash; ServeMux redirects a dot segment): mayNotRoute.
var paramEncodings = []struct {
	segment, object string
	mayNotRoute     bool
}{
	{"plain", "plain", false},
	{"a%2Fb", "a/b", true},
	{"..%2F..%2Fadmin", "../../admin", true},
	{"a%23b", "a#b", false},
	{"%40", "@", false},
	{"%3A", ":", false},
	{"a%3Fb%3Dc%26d", "a?b=c&d", false},
	{"Group%3Aeng%23member%40identity-s-admin", "Group:eng#member@identity-s-admin", false},
	{"%2E%2E", "..", false},
	{"..", "..", true},
	{"a%252F", "a%2F", false},
	{"a%252F%40", "a%2F@", false},
	{"a+b", "a+b", false},
	{"a%20b", "a b", false},
	{"%C3%A9t%C3%A9", "été", false},
	{"%c3%a9", "é", false},
	{"%61", "a", false},
}

// runParamEncodings sends each of paramEncodings to each target's route
// with a path parameter (ProtectedParam) and checks the one tuple Keto
// received: Document:<decoded segment>#view@identity-s-reader. The
// handler runs with the session (the tuple is granted), or, for a
// segment the framework may refuse to route, neither the handler nor Keto
// sees the request.
func runParamEncodings(t *testing.T, targets []ParamTarget) {
	t.Helper()
	t.Run("hostile encodings of the object", func(t *testing.T) {
		ory, keto := orytest.NewServer(), orytest.NewKeto()
		t.Cleanup(ory.Close)
		t.Cleanup(keto.Close)
		ory.Session("enc-token", active("s-reader", readerEmail))
		for _, enc := range paramEncodings {
			keto.Add(may(viewRelation, enc.object))
		}
		guard, err := core.New(core.Config{
			OryURL: ory.URL, Cache: core.CacheConfig{Disabled: true}, Logger: slog.New(slog.DiscardHandler),
			Permissions: core.PermissionsConfig{URL: keto.URL},
		})
		if err != nil {
			t.Fatalf("core.New: %v", err)
		}
		for _, tg := range targets {
			t.Run(strings.ReplaceAll(tg.Name(), "/", ""), func(t *testing.T) {
				probe := &Probe{}
				srv := tg.ProtectedParam(guard, []core.Option{viewDoc()}, probe)
				for _, enc := range paramEncodings {
					keto.Reset()
					r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/docs/"+enc.segment, nil)
					r.Header.Set("X-Session-Token", "enc-token")
					status, err := statusOf(srv(r))
					if err != nil {
						t.Fatalf("%s: %v", enc.segment, err)
					}
					seen, asked := probe.Take(), keto.Requests()
					if status != http.StatusOK && enc.mayNotRoute && seen.Runs == 0 && len(asked) == 0 && status != http.StatusForbidden {
						continue // the framework's own answer: not routed
					}
					want := []orytest.Tuple{may(viewRelation, enc.object)}
					if got, _ := ketoAsked(keto); status != http.StatusOK || seen.Runs != 1 || !slices.Equal(got, want) {
						t.Errorf("/docs/%s: %d, handler ran %d times, Keto asked %s; want 200, once, %s",
							enc.segment, status, seen.Runs, showTuples(got), showTuples(want))
					}
				}
			})
		}
	})
}

// runGlobalMount checks each target's app-wide mount (ProtectedGlobal):
// where the middleware sees the path parameters, a granted request is
// allowed as on the route; where it does not, the object is empty and the
// request is denied without asking Keto.
func runGlobalMount(t *testing.T, targets []ParamTarget) {
	t.Helper()
	t.Run("app-wide mount", func(t *testing.T) {
		ory, keto := orytest.NewServer(), orytest.NewKeto()
		t.Cleanup(ory.Close)
		t.Cleanup(keto.Close)
		ory.Session("global-token", active("s-reader", readerEmail))
		keto.Add(may(viewRelation, "doc-global"))
		guard, err := core.New(core.Config{
			OryURL: ory.URL, Logger: slog.New(slog.DiscardHandler),
			Permissions: core.PermissionsConfig{URL: keto.URL},
		})
		if err != nil {
			t.Fatalf("core.New: %v", err)
		}
		for _, tg := range targets {
			t.Run(strings.ReplaceAll(tg.Name(), "/", ""), func(t *testing.T) {
				keto.Reset()
				probe := &Probe{}
				srv, sees := tg.ProtectedGlobal(guard, []core.Option{viewDoc()}, probe)
				r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/docs/doc-global", nil)
				r.Header.Set("X-Session-Token", "global-token")
				status, err := statusOf(srv(r))
				if err != nil {
					t.Fatal(err)
				}
				runs, calls := probe.Take().Runs, keto.Calls()
				switch {
				case sees && (status != http.StatusOK || runs != 1 || calls != 1):
					t.Errorf("sees the parameters: %d, handler ran %d times, %d calls to Keto; want 200, once, 1", status, runs, calls)
				case !sees && (status != http.StatusForbidden || runs != 0 || calls != 0):
					t.Errorf("sees no parameters: %d, handler ran %d times, %d calls to Keto; want 403, never, none", status, runs, calls)
				}
			})
		}
	})
}

// statusOf reads and closes a response, and returns its status.
func statusOf(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, fmt.Errorf("serve: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, nil
}

// ketoAsked is every tuple the fake Keto was asked about, sorted, and the
// number of calls.
func ketoAsked(k *orytest.Keto) ([]orytest.Tuple, int) {
	reqs := k.Requests()
	var ts []orytest.Tuple
	for _, r := range reqs {
		ts = append(ts, r.Tuples...)
	}
	return sortTuples(ts), len(reqs)
}

func sortTuples(ts []orytest.Tuple) []orytest.Tuple {
	slices.SortFunc(ts, func(a, b orytest.Tuple) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Object, b.Object), cmp.Compare(a.Relation, b.Relation),
			cmp.Compare(a.SubjectID, b.SubjectID), cmp.Compare(a.SetNamespace, b.SetNamespace), cmp.Compare(a.SetObject, b.SetObject),
			cmp.Compare(a.SetRelation, b.SetRelation))
	})
	return ts
}

// showTuples renders tuples in Keto's notation, the object quoted.
func showTuples(ts []orytest.Tuple) string {
	if len(ts) == 0 {
		return "<none>"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		subject := t.SubjectID
		if t.SetNamespace != "" {
			subject = t.SetNamespace + ":" + t.SetObject + "#" + t.SetRelation
		}
		parts[i] = fmt.Sprintf("%s:%q#%s@%s", t.Namespace, t.Object, t.Relation, subject)
	}
	return strings.Join(parts, " ")
}
