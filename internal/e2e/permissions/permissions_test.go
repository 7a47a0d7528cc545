package permissions_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/oryguard/oryguard/internal/e2e/mount"
)

func TestMain(m *testing.M) { harness.Main(m) }

var (
	quiet = slog.New(slog.DiscardHandler)
	// A SQLite file, as in the reliability tests: Kratos' in-memory
	// database fails registrations that meet other writes.
	kratos = harness.NewSharedKratos(harness.KratosOptions{Persistent: true, LogLevel: "error", Logger: quiet})
)

// user is an identity signed in as a native app (session token).
type user struct {
	id, token string
}

// signUp serializes sign-ups: SQLite takes one writer at a time.
var signUp sync.Mutex

// newUser signs up a new identity through Kratos' API flow.
func newUser(t *testing.T) user {
	t.Helper()
	signUp.Lock()
	defer signUp.Unlock()
	s, err := kratos.Get(t).RegisterAPI(t.Context(), "perm-"+strings.ToLower(rand.Text()[:12])+"@example.com", "Perm-"+rand.Text())
	if err != nil {
		t.Fatal(err)
	}
	return user{id: s.IdentityID, token: s.Token}
}

// startKeto starts a Keto of the test's own, quiet unless the test fails.
func startKeto(t *testing.T) *harness.Keto {
	t.Helper()
	return harness.StartKetoT(t, harness.KetoOptions{LogLevel: "warn", Logger: quiet})
}

// newGuard is a guard in front of the shared Kratos, checking permissions
// at ketoURL with pc's other settings.
func newGuard(t *testing.T, ketoURL string, pc core.PermissionsConfig) *core.Guard {
	t.Helper()
	pc.URL = ketoURL
	g, err := core.New(core.Config{OryURL: kratos.Get(t).PublicURL(), Logger: quiet, Permissions: pc})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// param is the path of a route with one parameter named id in the
// adapter's router syntax: prefix+"{id}" for net/http, prefix+":id"
// elsewhere.
func param(adapter, prefix string) string {
	if adapter == "net/http" {
		return prefix + "{id}"
	}
	return prefix + ":id"
}

// serve starts the adapter's app with routes and closes it at test end.
func serve(t *testing.T, a mount.Adapter, routes ...mount.Route) string {
	t.Helper()
	app, err := a.Serve(routes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	return app.URL
}

// route is a GET route guarded by g with opts, answering "ok".
func route(path string, g *core.Guard, opts ...core.Option) mount.Route {
	return mount.Route{Path: path, Guard: g, Options: opts, Reply: func(*client.Session) []byte { return []byte("ok") }}
}

func netHTTP(t *testing.T) mount.Adapter {
	t.Helper()
	a, err := mount.Lookup("net/http")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// answer is what the app answered.
type answer struct {
	status int
	header http.Header
	body   string
}

// noRedirects shows the guard's redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get sends GET rawURL (sent as written, not cleaned) with the user's
// session token, or none for the zero user.
func get(t *testing.T, rawURL string, u user) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if u.token != "" {
		req.Header.Set("X-Session-Token", u.token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func wantStatus(t *testing.T, what string, got answer, want int) {
	t.Helper()
	if got.status != want {
		t.Errorf("%s: status %d, want %d; body: %.300s", what, got.status, want, got.body)
	}
}

func viewer(object, subject string) harness.Tuple {
	return harness.Tuple{Namespace: "documents", Object: object, Relation: "viewer", SubjectID: subject}
}

func write(t *testing.T, k *harness.Keto, tuples ...harness.Tuple) {
	t.Helper()
	if err := k.WriteTuples(t.Context(), tuples...); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, k *harness.Keto, tuples ...harness.Tuple) {
	t.Helper()
	if err := k.DeleteTuples(t.Context(), tuples...); err != nil {
		t.Fatal(err)
	}
}

// A user with a viewer tuple on a document reads it and cannot edit it;
// another user can do neither; without a session the guard answers 401
// before Keto is asked. On every adapter, with the object from the
// route's path parameter.
func TestViewerReadsButCannotEdit(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice, bob := newUser(t), newUser(t)
	write(t, k, viewer("report", alice.id))
	proxy := startKetoProxy(t, k.ReadURL())
	g := newGuard(t, proxy.URL, core.PermissionsConfig{})

	for _, a := range mount.Adapters() {
		t.Run(a.Name(), func(t *testing.T) {
			base := serve(t, a,
				route(param(a.Name(), "/docs/"), g, core.Permit("documents", "viewer", core.PathParam("id"))),
				route(param(a.Name(), "/edit/"), g, core.Permit("documents", "editor", core.PathParam("id"))),
			)
			for _, c := range []struct {
				what string
				path string
				u    user
				want int
			}{
				{"viewer reads", "/docs/report", alice, http.StatusOK},
				{"viewer edits", "/edit/report", alice, http.StatusForbidden},
				{"viewer reads another document", "/docs/plan", alice, http.StatusForbidden},
				{"other user reads", "/docs/report", bob, http.StatusForbidden},
				{"other user edits", "/edit/report", bob, http.StatusForbidden},
				{"no session", "/docs/report", user{}, http.StatusUnauthorized},
			} {
				proxy.Calls()
				wantStatus(t, c.what, get(t, base+c.path, c.u), c.want)
				calls := proxy.Calls()
				if c.u.token == "" {
					if len(calls) != 0 {
						t.Errorf("%s: Keto was asked %d times for an anonymous request", c.what, len(calls))
					}
					continue
				}
				if len(calls) != 1 || len(calls[0].Tuples) != 1 {
					t.Errorf("%s: Keto saw %+v, want one check", c.what, calls)
					continue
				}
				rel := "viewer"
				if strings.HasPrefix(c.path, "/edit/") {
					rel = "editor"
				}
				want := harness.Tuple{Namespace: "documents", Object: strings.TrimPrefix(strings.TrimPrefix(c.path, "/docs/"), "/edit/"), Relation: rel, SubjectID: c.u.id}
				if got := calls[0].Tuples[0]; got != want {
					t.Errorf("%s: Keto was asked %s, want %s", c.what, got, want)
				}
			}
		})
	}
}

// With the cache off (the default) a tuple written takes effect on the
// next request, and so does a tuple deleted.
func TestTupleChangesTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	g := newGuard(t, k.ReadURL(), core.PermissionsConfig{})
	base := serve(t, netHTTP(t), route("/docs/{id}", g, core.Permit("documents", "viewer", core.PathParam("id"))))
	doc := base + "/docs/plan"

	wantStatus(t, "before the tuple", get(t, doc, alice), http.StatusForbidden)
	write(t, k, viewer("plan", alice.id))
	wantStatus(t, "tuple written", get(t, doc, alice), http.StatusOK)
	wantStatus(t, "again", get(t, doc, alice), http.StatusOK)
	remove(t, k, viewer("plan", alice.id))
	wantStatus(t, "tuple deleted", get(t, doc, alice), http.StatusForbidden)
}

// Group membership through a subject-set tuple
// (documents:plan#viewer@groups:staff#member): joining the group opens the
// document, leaving it closes it. And core.SubjectSet: the check's subject
// is the set groups:<identity ID>#member, never the identity itself.
func TestSubjectSets(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	proxy := startKetoProxy(t, k.ReadURL())
	g := newGuard(t, proxy.URL, core.PermissionsConfig{})
	base := serve(t, netHTTP(t),
		route("/docs/{id}", g, core.Permit("documents", "viewer", core.PathParam("id"))),
		route("/teamdocs/{id}", g, core.Permit("documents", "viewer", core.PathParam("id"), core.SubjectSet("groups", "member"))),
	)

	staffReads := harness.Tuple{Namespace: "documents", Object: "plan", Relation: "viewer",
		SubjectSet: &harness.SubjectSet{Namespace: "groups", Object: "staff", Relation: "member"}}
	member := harness.Tuple{Namespace: "groups", Object: "staff", Relation: "member", SubjectID: alice.id}
	write(t, k, staffReads)
	wantStatus(t, "not in the group", get(t, base+"/docs/plan", alice), http.StatusForbidden)
	write(t, k, member)
	wantStatus(t, "joined the group", get(t, base+"/docs/plan", alice), http.StatusOK)
	remove(t, k, member)
	wantStatus(t, "left the group", get(t, base+"/docs/plan", alice), http.StatusForbidden)

	// SubjectSet("groups", "member"): the subject is groups:<id>#member.
	ownSet := &harness.SubjectSet{Namespace: "groups", Object: alice.id, Relation: "member"}
	write(t, k,
		harness.Tuple{Namespace: "documents", Object: "team-plan", Relation: "viewer", SubjectSet: ownSet},
		viewer("direct-only", alice.id))
	proxy.Calls()
	wantStatus(t, "subject set with a tuple", get(t, base+"/teamdocs/team-plan", alice), http.StatusOK)
	wantStatus(t, "identity's own tuple is not the set's", get(t, base+"/teamdocs/direct-only", alice), http.StatusForbidden)
	for _, c := range proxy.Calls() {
		for _, tu := range c.Tuples {
			if tu.SubjectID != "" || tu.SubjectSet == nil || *tu.SubjectSet != *ownSet {
				t.Errorf("SubjectSet route asked %s, want the subject %s:%s#%s", tu, ownSet.Namespace, ownSet.Object, ownSet.Relation)
			}
		}
	}
}

// Keto stopped while the app runs: every request on a permission route is
// answered 502 or 504, never let in and never sent to the login; Keto back
// (with its tuples written again: dsn memory) lets it in again.
func TestKetoStoppedMidRun(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	ctx := t.Context()
	signUp.Lock()
	browser, err := kratos.Get(t).RegisterBrowser(ctx, "perm-browser-"+strings.ToLower(rand.Text()[:12])+"@example.com", "Perm-"+rand.Text())
	signUp.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	write(t, k, viewer("plan", alice.id), viewer("plan", browser.IdentityID))
	g := newGuard(t, k.ReadURL(), core.PermissionsConfig{Timeout: 2 * time.Second})
	base := serve(t, netHTTP(t), route("/docs/{id}", g, core.Permit("documents", "viewer", core.PathParam("id"))))
	doc := base + "/docs/plan"
	browse := func() answer {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		req.AddCookie(browser.Cookie)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return answer{resp.StatusCode, resp.Header, string(b)}
	}

	wantStatus(t, "Keto up, API", get(t, doc, alice), http.StatusOK)
	wantStatus(t, "Keto up, browser", browse(), http.StatusOK)
	if err := k.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for _, a := range []answer{get(t, doc, alice), browse()} {
			if a.status != http.StatusBadGateway && a.status != http.StatusGatewayTimeout {
				t.Errorf("request %d with Keto stopped: status %d (Location %q), want 502 or 504", i, a.status, a.header.Get("Location"))
			}
		}
	}
	if err := k.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "Keto back, no tuples", get(t, doc, alice), http.StatusForbidden)
	write(t, k, viewer("plan", alice.id))
	wantStatus(t, "Keto back, tuple written again", get(t, doc, alice), http.StatusOK)
}

// Three checks on one route against Keto v0.13 (no batch API) go out in
// one round, concurrently: the proxy holds each call until all three have
// arrived, so checks sent one after another would never pass it (the
// barrier's timeout fails the test; nothing here measures time).
func TestThreeChecksGoOutConcurrently(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	proxy := startKetoProxy(t, k.ReadURL())
	g := newGuard(t, proxy.URL, core.PermissionsConfig{Timeout: time.Minute})
	fixed := func(s string) core.Object { return func(*core.Request) string { return s } }
	base := serve(t, netHTTP(t), route("/projects/{id}", g,
		core.Permit("documents", "viewer", core.PathParam("id")),
		core.Permit("documents", "viewer", fixed("handbook")),
		core.Permit("groups", "member", fixed("staff")),
	))
	write(t, k, viewer("apollo", alice.id), viewer("handbook", alice.id),
		harness.Tuple{Namespace: "groups", Object: "staff", Relation: "member", SubjectID: alice.id})

	for _, c := range []struct {
		what string
		doc  string
		want int
	}{
		{"all three allowed", "apollo", http.StatusOK},
		{"first denied", "gemini", http.StatusForbidden},
	} {
		proxy.Calls()
		proxy.Hold(3, 15*time.Second)
		wantStatus(t, c.what, get(t, base+"/projects/"+c.doc, alice), c.want)
		if proxy.BarrierTimedOut() {
			t.Errorf("%s: the three checks did not reach Keto together", c.what)
		}
		calls := proxy.Calls()
		if len(calls) != 3 {
			t.Errorf("%s: %d calls to Keto, want 3 (one per check, cache off)", c.what, len(calls))
		}
		seen := map[string]bool{}
		for _, cl := range calls {
			for _, tu := range cl.Tuples {
				seen[tu.String()] = true
			}
		}
		for _, want := range []harness.Tuple{viewer(c.doc, alice.id), viewer("handbook", alice.id),
			{Namespace: "groups", Object: "staff", Relation: "member", SubjectID: alice.id}} {
			if !seen[want.String()] {
				t.Errorf("%s: Keto was not asked %s (asked %v)", c.what, want, seen)
			}
		}
	}
}

// Object IDs from the path with characters that mean something in Keto's
// notation (#, @, :), in a URL query (?, &, =) or in a path (/, ..), and
// percent-encodings of them, cannot change the namespace, the relation or
// the subject of the check, on any adapter: the proxy sees each as the
// object alone, decoded once, and only the object that has a tuple is let
// in. A router may also refuse such a path before the guard runs (404, or
// a redirect to the cleaned path), and an object that is not UTF-8 is
// denied without asking Keto; then nothing is checked or let in.
func TestHostileObjectIDs(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	proxy := startKetoProxy(t, k.ReadURL())
	g := newGuard(t, proxy.URL, core.PermissionsConfig{})
	const literal = "a#b@c:d"
	write(t, k, viewer(literal, alice.id), viewer("secret", "mallory"),
		harness.Tuple{Namespace: "groups", Object: "x", Relation: "viewer", SubjectID: alice.id})

	for _, a := range mount.Adapters() {
		t.Run(a.Name(), func(t *testing.T) {
			base := serve(t, a, route(param(a.Name(), "/docs/"), g, core.Permit("documents", "viewer", core.PathParam("id"))))
			for _, c := range []struct {
				segment string // as sent, after /docs/
				object  string // what Keto must be asked
				want    int
			}{
				{"a%23b@c:d", literal, http.StatusOK},
				{"a%23b%40c%3Ad", literal, http.StatusOK},
				{"a%2523b@c:d", "a%23b@c:d", http.StatusForbidden}, // decoded once, not twice
				{"secret%23viewer@mallory", "secret#viewer@mallory", http.StatusForbidden},
				{"x%23viewer", "x#viewer", http.StatusForbidden},
				{"groups:x", "groups:x", http.StatusForbidden},
				{"secret%3Fsubject_id%3Dmallory", "secret?subject_id=mallory", http.StatusForbidden},
				{"secret%26subject_id%3Dmallory", "secret&subject_id=mallory", http.StatusForbidden},
				{"secret%26namespace%3Dgroups", "secret&namespace=groups", http.StatusForbidden},
				{"..%2Fsecret", "../secret", http.StatusForbidden},
				{"%2E%2E", "..", http.StatusForbidden},
				{"a%2Fb", "a/b", http.StatusForbidden},
				{"%20", " ", http.StatusForbidden},
				{"a%FFb", "", http.StatusForbidden}, // not UTF-8: denied without asking Keto
			} {
				proxy.Calls()
				got := get(t, base+"/docs/"+c.segment, alice)
				calls := proxy.Calls()
				if got.status == http.StatusOK && c.want != http.StatusOK {
					t.Errorf("%s: let in (%d), want %d", c.segment, got.status, c.want)
				}
				if len(calls) == 0 {
					if got.status == http.StatusOK || c.want == http.StatusOK || (c.object == "" && got.status != http.StatusForbidden) {
						t.Errorf("%s: status %d without asking Keto", c.segment, got.status)
					}
					t.Logf("%s: Keto not asked (status %d)", c.segment, got.status)
					continue
				}
				wantStatus(t, c.segment, got, c.want)
				want := viewer(c.object, alice.id)
				for _, cl := range calls {
					if cl.Err != nil || len(cl.Tuples) != 1 || cl.Tuples[0] != want {
						t.Errorf("%s: Keto was asked %+v (err %v), want exactly %s", c.segment, cl.Tuples, cl.Err, want)
					}
				}
			}
		})
	}
}

// Keto's answer, replaced at the proxy: anything but a well-formed JSON
// answer is a 502 and never lets the request in; 429 is passed on with
// Retry-After (it comes last: the guard then backs off).
func TestBadKetoAnswers(t *testing.T) {
	t.Parallel()
	k := startKeto(t)
	alice := newUser(t)
	write(t, k, viewer("plan", alice.id))
	proxy := startKetoProxy(t, k.ReadURL())
	g := newGuard(t, proxy.URL, core.PermissionsConfig{Timeout: 2 * time.Second})
	base := serve(t, netHTTP(t), route("/docs/{id}", g, core.Permit("documents", "viewer", core.PathParam("id"))))
	doc := base + "/docs/plan"
	wantStatus(t, "through the proxy", get(t, doc, alice), http.StatusOK)
	// hang answers only when the guard has given up on the call.
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

	reply := func(status int, contentType, body string, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	// allowed true, then padding far past any sane answer's size.
	huge := `{"allowed":true,"padding":"` + strings.Repeat("x", 8<<20) + `"}`
	for _, c := range []struct {
		what   string
		answer http.HandlerFunc
		want   int
		retry  string
	}{
		{"not JSON", reply(http.StatusOK, "text/html", "<html>allowed</html>"), http.StatusBadGateway, ""},
		{"truncated JSON", reply(http.StatusOK, "application/json", `{"allowed":tr`), http.StatusBadGateway, ""},
		{"allowed not a bool", reply(http.StatusOK, "application/json", `{"allowed":"true"}`), http.StatusBadGateway, ""},
		{"empty body", reply(http.StatusOK, "application/json", ""), http.StatusBadGateway, ""},
		{"too large", reply(http.StatusOK, "application/json", huge), http.StatusBadGateway, ""},
		{"no answer within the timeout", hang, http.StatusGatewayTimeout, ""},
		{"500", reply(http.StatusInternalServerError, "application/json", `{"error":{"code":500}}`), http.StatusBadGateway, ""},
		{"429", reply(http.StatusTooManyRequests, "application/json", `{"error":{"code":429}}`, "Retry-After", "2"), http.StatusTooManyRequests, "2"},
	} {
		proxy.Answer(c.answer)
		got := get(t, doc, alice)
		wantStatus(t, c.what, got, c.want)
		if c.retry != "" && got.header.Get("Retry-After") != c.retry {
			t.Errorf("%s: Retry-After %q, want %q", c.what, got.header.Get("Retry-After"), c.retry)
		}
	}
	// The 429 (last above) makes the guard back off for Keto's
	// Retry-After, letting a few probes through: until one reaches Keto,
	// requests get 429 from the guard itself, and never anything else.
	proxy.Answer(nil)
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := get(t, doc, alice)
		if got.status == http.StatusOK {
			break
		}
		if got.status != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("Keto answers again: status %d, want 200 (or 429 while the guard backs off); body: %.300s", got.status, got.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With PermissionsConfig.Batch, the route's three checks are one call to
// /relation-tuples/batch/check, in the route's order. Keto v0.13 does not
// serve it, so this runs against core/orytest's fake Keto, which speaks
// v0.14's batch API; the session still comes from the real Kratos.
func TestBatchIsOneCall(t *testing.T) {
	t.Parallel()
	fake := orytest.NewKeto()
	t.Cleanup(fake.Close)
	alice := newUser(t)
	g := newGuard(t, fake.URL, core.PermissionsConfig{Batch: true})
	fixed := func(s string) core.Object { return func(*core.Request) string { return s } }
	base := serve(t, netHTTP(t), route("/projects/{id}", g,
		core.Permit("documents", "viewer", core.PathParam("id")),
		core.Permit("documents", "viewer", fixed("handbook")),
		core.Permit("groups", "member", fixed("staff")),
	))
	fake.Allow("documents", "apollo", "viewer", alice.id)
	fake.Allow("documents", "handbook", "viewer", alice.id)
	fake.Allow("groups", "staff", "member", alice.id)

	for _, c := range []struct {
		doc  string
		want int
	}{
		{"apollo", http.StatusOK},
		{"gemini", http.StatusForbidden},
	} {
		fake.Reset()
		wantStatus(t, c.doc, get(t, base+"/projects/"+c.doc, alice), c.want)
		reqs := fake.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/relation-tuples/batch/check" {
			t.Fatalf("%s: Keto got %+v, want one batch check", c.doc, reqs)
		}
		want := []orytest.Tuple{
			{Namespace: "documents", Object: c.doc, Relation: "viewer", SubjectID: alice.id},
			{Namespace: "documents", Object: "handbook", Relation: "viewer", SubjectID: alice.id},
			{Namespace: "groups", Object: "staff", Relation: "member", SubjectID: alice.id},
		}
		if !slices.Equal(reqs[0].Tuples, want) {
			t.Errorf("%s: the batch asked %+v, want %+v", c.doc, reqs[0].Tuples, want)
		}
	}

	// A Keto without the batch endpoint (v0.13 and older) answers 404:
	// the route fails closed.
	fake.DisableBatch()
	wantStatus(t, "no batch endpoint", get(t, base+"/projects/apollo", alice), http.StatusBadGateway)
}
