package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// params is a route's matched path parameters, as an adapter exposes them.
type params map[string]string

func (p params) Param(name string) string { return p[name] }

// alice's session token and identity ID at the fake Ory.
const (
	aliceToken = "tok-alice"
	aliceID    = "identity-s-alice"
)

// permGuard is a guard whose Ory knows alice, with a fake Keto.
func permGuard(t testing.TB, mutate func(*core.Config)) (*core.Guard, *orytest.Server, *orytest.Keto, *logBuffer) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(aliceToken, orytest.ActiveSession("s-alice", "alice@example.com"))
	keto := orytest.NewKeto()
	t.Cleanup(keto.Close)
	logs := &logBuffer{}
	cfg := core.Config{
		OryURL:      ory.URL,
		Timeout:     300 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(&logs.Buffer, nil)),
		Permissions: core.PermissionsConfig{URL: keto.URL, Timeout: 2 * time.Second},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	return g, ory, keto, logs
}

func permReq(token string, p core.Params) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/docs/x", Accept: "application/json", SessionToken: token, Params: p}
}

// browserPermReq is a page load with the session cookie.
func browserPermReq(token string, p core.Params) *core.Request {
	r := permReq("", p)
	r.Cookies = []string{"ory_kratos_session=" + token}
	r.Accept = browserAccept
	r.SecFetchMode, r.SecFetchDest = "navigate", "document"
	return r
}

var doc = core.PathParam("doc")

func TestPermit(t *testing.T) {
	viewer := orytest.Tuple{Namespace: "Document", Object: "d1", Relation: "viewer", SubjectID: aliceID}
	editor := orytest.Tuple{Namespace: "Document", Object: "d1", Relation: "editor", SubjectID: aliceID}
	owner := orytest.Tuple{Namespace: "Folder", Object: "f1", Relation: "owner", SubjectID: aliceID}
	// Members of group g1 (alice among them) view d2; the subject set
	// Group:<alice>#self is what SubjectSet("Group", "self") asks about.
	member := orytest.Tuple{Namespace: "Group", Object: "g1", Relation: "member", SubjectID: aliceID}
	groupViews := orytest.Tuple{Namespace: "Document", Object: "d2", Relation: "viewer", SetNamespace: "Group", SetObject: "g1", SetRelation: "member"}
	selfSet := orytest.Tuple{Namespace: "Document", Object: "d3", Relation: "viewer", SetNamespace: "Group", SetObject: aliceID, SetRelation: "self"}

	for _, tc := range []struct {
		name      string
		tuples    []orytest.Tuple
		opts      []core.Option
		params    core.Params
		batch     bool
		noSession bool
		status    int
		calls     int
		paths     []string
		err       error
	}{
		{name: "allowed", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "viewer", doc)},
			params: params{"doc": "d1"}, status: 200, calls: 1, paths: []string{"/relation-tuples/check/openapi"}},
		{name: "denied", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "editor", doc)},
			params: params{"doc": "d1"}, status: 403, calls: 1, err: core.ErrPermissionDenied},
		{name: "other object denied", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "viewer", doc)},
			params: params{"doc": "d2"}, status: 403, calls: 1, err: core.ErrPermissionDenied},
		{name: "two allowed, concurrently", tuples: []orytest.Tuple{viewer, editor},
			opts:   []core.Option{core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc)},
			params: params{"doc": "d1"}, status: 200, calls: 2},
		{name: "two, one denied", tuples: []orytest.Tuple{viewer},
			opts:   []core.Option{core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc)},
			params: params{"doc": "d1"}, status: 403, calls: -1, err: core.ErrPermissionDenied}, // the deny may cancel the other call
		{name: "batch of three allowed", tuples: []orytest.Tuple{viewer, editor, owner}, batch: true,
			opts: []core.Option{core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc),
				core.Permit("Folder", "owner", func(*core.Request) string { return "f1" })},
			params: params{"doc": "d1"}, status: 200, calls: 1, paths: []string{"/relation-tuples/batch/check"}},
		{name: "batch, one denied", tuples: []orytest.Tuple{viewer, owner}, batch: true,
			opts: []core.Option{core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc),
				core.Permit("Folder", "owner", func(*core.Request) string { return "f1" })},
			params: params{"doc": "d1"}, status: 403, calls: 1, err: core.ErrPermissionDenied},
		{name: "batch of one is a single check", tuples: []orytest.Tuple{viewer}, batch: true,
			opts: []core.Option{core.Permit("Document", "viewer", doc)}, params: params{"doc": "d1"},
			status: 200, calls: 1, paths: []string{"/relation-tuples/check/openapi"}},
		{name: "through a group's subject set", tuples: []orytest.Tuple{member, groupViews},
			opts: []core.Option{core.Permit("Document", "viewer", doc)}, params: params{"doc": "d2"}, status: 200, calls: 1},
		{name: "subject set subject", tuples: []orytest.Tuple{selfSet},
			opts:   []core.Option{core.Permit("Document", "viewer", doc, core.SubjectSet("Group", "self"))},
			params: params{"doc": "d3"}, status: 200, calls: 1},
		{name: "subject set subject, identity alone not enough", tuples: []orytest.Tuple{viewer},
			opts:   []core.Option{core.Permit("Document", "viewer", doc, core.SubjectSet("Group", "self"))},
			params: params{"doc": "d1"}, status: 403, calls: 1, err: core.ErrPermissionDenied},
		{name: "empty object", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "viewer", doc)},
			params: params{"doc": ""}, status: 403, calls: 0, err: core.ErrPermissionDenied},
		{name: "no params", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "viewer", doc)},
			status: 403, calls: 0, err: core.ErrPermissionDenied},
		{name: "object not UTF-8", tuples: []orytest.Tuple{viewer, {Namespace: "Document", Object: "\ufffd", Relation: "viewer", SubjectID: aliceID}},
			opts: []core.Option{core.Permit("Document", "viewer", doc)}, batch: true,
			params: params{"doc": "\xff"}, status: 403, calls: 0, err: core.ErrPermissionDenied},
		{name: "nil object", tuples: []orytest.Tuple{viewer}, opts: []core.Option{core.Permit("Document", "viewer", nil)},
			params: params{"doc": "d1"}, status: 403, calls: 0, err: core.ErrPermissionDenied},
		{name: "empty object among allowed ones asks nothing", tuples: []orytest.Tuple{viewer},
			opts:   []core.Option{core.Permit("Document", "viewer", doc), core.Permit("Document", "viewer", core.PathParam("other"))},
			params: params{"doc": "d1"}, status: 403, calls: 0, err: core.ErrPermissionDenied},
		{name: "no session asks nothing", tuples: []orytest.Tuple{viewer}, noSession: true,
			opts: []core.Option{core.Permit("Document", "viewer", doc)}, params: params{"doc": "d1"}, status: 401, calls: 0, err: core.ErrNoSession},
		{name: "optional, anonymous asks nothing", tuples: []orytest.Tuple{viewer}, noSession: true,
			opts: []core.Option{core.Optional(), core.Permit("Document", "viewer", doc)}, params: params{"doc": "d1"}, status: 200, calls: 0},
		{name: "optional with a session, allowed", tuples: []orytest.Tuple{viewer},
			opts: []core.Option{core.Optional(), core.Permit("Document", "viewer", doc)}, params: params{"doc": "d1"}, status: 200, calls: 1},
		{name: "optional with a session, denied as on a required route", tuples: []orytest.Tuple{viewer},
			opts:   []core.Option{core.Optional(), core.Permit("Document", "editor", doc)},
			params: params{"doc": "d1"}, status: 403, calls: 1, err: core.ErrPermissionDenied},
		{name: "app check fails first: Keto not asked", tuples: []orytest.Tuple{viewer},
			opts: []core.Option{core.Check(func(context.Context, *client.Session) error { return errors.New("no") }),
				core.Permit("Document", "viewer", doc)},
			params: params{"doc": "d1"}, status: 403, calls: 0, err: core.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Permissions.Batch = tc.batch })
			for _, tu := range tc.tuples {
				keto.Add(tu)
			}
			token := aliceToken
			if tc.noSession {
				token = ""
			}
			d := g.Route(tc.opts...).Authenticate(context.Background(), permReq(token, tc.params))
			status := d.Status
			if d.Allow {
				status = 200
			}
			if status != tc.status {
				t.Fatalf("status = %d (%+v), want %d", status, d.Denial, tc.status)
			}
			if tc.status == 200 && !tc.noSession && d.Session == nil {
				t.Error("allowed without the session")
			}
			if tc.err != nil && (d.Denial == nil || !errors.Is(d.Denial, tc.err)) {
				t.Errorf("denial = %v, want %v", d.Denial, tc.err)
			}
			if errors.Is(tc.err, core.ErrPermissionDenied) && !errors.Is(d.Denial, core.ErrForbidden) {
				t.Errorf("denial %v does not unwrap to ErrForbidden", d.Denial)
			}
			reqs := keto.Requests()
			if tc.calls >= 0 && len(reqs) != tc.calls {
				t.Errorf("Keto got %d calls (%+v), want %d", len(reqs), reqs, tc.calls)
			}
			for i, p := range tc.paths {
				if i < len(reqs) && reqs[i].Path != p {
					t.Errorf("call %d to %s, want %s", i, reqs[i].Path, p)
				}
			}
		})
	}
}

// TestPermitKetoFailing: whatever goes wrong with Keto, the request is not
// let in, a browser is not sent to log in, and the answer says which.
func TestPermitKetoFailing(t *testing.T) {
	huge := `{"allowed":true,"pad":"` + strings.Repeat("x", 100<<10) + `"}`
	for _, tc := range []struct {
		name   string
		reply  orytest.Reply
		batch  bool
		status int
		err    error
		retry  string
	}{
		{"500", orytest.Reply{Status: 500, Body: []byte(`{"error":{"code":500}}`)}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"503 batch", orytest.Reply{Status: 503, Body: []byte(`{}`)}, true, 502, core.ErrPermissionsUnavailable, ""},
		{"not JSON", orytest.Reply{Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<html>allowed</html>")}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"JSON without allowed", orytest.Reply{Body: []byte(`{"ok":true}`)}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"empty 200", orytest.Reply{Body: nil}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"oversized", orytest.Reply{Body: []byte(huge)}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"oversized batch", orytest.Reply{Body: []byte(huge)}, true, 502, core.ErrPermissionsUnavailable, ""},
		{"batch with too few results", orytest.Reply{Body: []byte(`{"results":[{"allowed":true}]}`)}, true, 502, core.ErrPermissionsUnavailable, ""},
		{"batch with a tuple's error", orytest.Reply{Body: []byte(`{"results":[{"allowed":true},{"allowed":true,"error":"namespace unknown"}]}`)}, true, 502, core.ErrPermissionsUnavailable, ""},
		{"truncated", orytest.Reply{Body: []byte(`{"allowed":true}`), Truncate: true}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"redirect is not followed", orytest.Reply{Status: 302, Header: http.Header{"Location": {"http://127.0.0.1:1/"}}}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"403 from openapi", orytest.Reply{Status: 403, Body: []byte(`{"allowed":false}`)}, false, 502, core.ErrPermissionsUnavailable, ""},
		{"timeout", orytest.Reply{Hang: true}, false, 504, core.ErrOryTimeout, ""},
		{"timeout batch", orytest.Reply{Hang: true}, true, 504, core.ErrOryTimeout, ""},
		{"429", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}, Body: []byte(`{}`)}, false, 429, core.ErrRateLimited, "7"},
		{"429 batch", orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(`{}`)}, true, 429, core.ErrRateLimited, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _, keto, _ := permGuard(t, func(c *core.Config) {
				c.Permissions.Batch = tc.batch
				c.Permissions.Timeout = 200 * time.Millisecond
			})
			keto.Allow("Document", "d1", "viewer", aliceID)
			keto.Allow("Document", "d1", "editor", aliceID)
			keto.ReplyAll(&tc.reply)
			opts := []core.Option{core.Permit("Document", "viewer", doc)}
			if tc.batch {
				opts = append(opts, core.Permit("Document", "editor", doc))
			}
			for _, browser := range []bool{false, true} {
				r := permReq(aliceToken, params{"doc": "d1"})
				if browser {
					r = browserPermReq(aliceToken, params{"doc": "d1"})
				}
				d := g.Route(opts...).Authenticate(context.Background(), r)
				if d.Allow {
					t.Fatalf("allowed while Keto %s", tc.name)
				}
				if d.Status != tc.status || !errors.Is(d.Denial, tc.err) {
					t.Errorf("browser=%v: status %d, %v; want %d, %v", browser, d.Status, d.Denial, tc.status, tc.err)
				}
				if loc := d.Header.Get("Location"); loc != "" {
					t.Errorf("browser=%v: sent to %s", browser, loc)
				}
				if got := d.Header.Get("Retry-After"); got != tc.retry {
					t.Errorf("Retry-After = %q, want %q", got, tc.retry)
				}
				if !browser {
					if e := decodeErr(t, d); e.Error.Code != tc.status {
						t.Errorf("JSON code %d, want %d", e.Error.Code, tc.status)
					}
				}
			}
		})
	}
}

func TestPermitKetoUnreachable(t *testing.T) {
	keto := orytest.NewKeto()
	url := keto.URL
	keto.Close()
	g, _, _, logs := permGuard(t, func(c *core.Config) { c.Permissions.URL = url })
	d := g.Route(core.Permit("Document", "viewer", doc)).Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	if d.Allow || d.Status != 502 || !errors.Is(d.Denial, core.ErrOryUnavailable) {
		t.Fatalf("decision %d %v; want 502 ErrOryUnavailable", d.Status, d.Denial)
	}
	if !strings.Contains(logs.String(), "Ory Permissions check failed") {
		t.Errorf("no log line: %s", logs.String())
	}
	if strings.Contains(logs.String(), aliceID) || strings.Contains(logs.String(), "object=") {
		t.Errorf("the log names the identity or the query: %s", logs.String())
	}
}

// TestPermitHostileObjects: an object ID reaches Keto as exactly the string
// the route gave, and cannot change the namespace, relation or subject.
func TestPermitHostileObjects(t *testing.T) {
	objects := []string{
		"a/b", "a#b", "a@b", "x:y", "..", "../..", "%2F", "%23", "%40", "a?namespace=Admin",
		"a&relation=owner", "a&subject_id=root", "Document:d1#viewer@root", "/relation-tuples/check",
		"a\x00b", "é", " ", "a b", "%", "+", `"},{"namespace":"Admin`, "a\nb",
	}
	for _, batch := range []bool{false, true} {
		g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Permissions.Batch = batch })
		// alice may view only the hostile objects themselves; a tuple the
		// attack would aim at exists too.
		keto.Allow("Admin", "a", "owner", aliceID)
		for _, obj := range objects {
			keto.Reset()
			opts := []core.Option{core.Permit("Document", "viewer", doc)}
			if batch {
				opts = append(opts, core.Permit("Document", "commenter", doc))
			}
			rt := g.Route(opts...)
			d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": obj}))
			if d.Allow {
				t.Fatalf("batch=%v %q: allowed without a tuple", batch, obj)
			}
			reqs := keto.Requests()
			if len(reqs) == 0 {
				t.Fatalf("batch=%v %q: Keto not asked", batch, obj)
			}
			for _, r := range reqs {
				for _, tu := range r.Tuples {
					if tu.Object != obj || tu.Namespace != "Document" || (tu.Relation != "viewer" && tu.Relation != "commenter") ||
						tu.SubjectID != aliceID || tu.SetNamespace != "" {
						t.Errorf("batch=%v %q: Keto was asked %+v", batch, obj, tu)
					}
				}
				if !strings.HasPrefix(r.Path, "/relation-tuples/") || strings.Contains(r.Path, obj) && obj != "/relation-tuples/check" {
					t.Errorf("batch=%v %q: path %q", batch, obj, r.Path)
				}
			}
			keto.Allow("Document", obj, "viewer", aliceID)
			keto.Allow("Document", obj, "commenter", aliceID)
			if d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": obj})); !d.Allow {
				t.Errorf("batch=%v %q: denied with the tuples: %v", batch, obj, d.Denial)
			}
		}
	}
}

// TestPermitConcurrent: without Batch, a route's checks go to Keto at the
// same time. The barrier holds each call until all three arrived: calls
// made one after another would time out instead.
func TestPermitConcurrent(t *testing.T) {
	g, _, keto, _ := permGuard(t, nil)
	for _, rel := range []string{"viewer", "editor", "owner"} {
		keto.Allow("Document", "d1", rel, aliceID)
	}
	keto.Barrier(3)
	rt := g.Route(core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc), core.Permit("Document", "owner", doc))
	d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	if !d.Allow {
		t.Fatalf("denied: %v", d.Denial)
	}
	if n := keto.Calls(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

// TestPermitCollapse: concurrent identical checks share one call.
func TestPermitCollapse(t *testing.T) {
	const n = 20
	g, _, keto, _ := permGuard(t, nil)
	keto.Allow("Document", "d1", "viewer", aliceID)
	release := make(chan struct{})
	keto.ReplyAll(&orytest.Reply{Until: release, Body: []byte(`{"allowed":true}`)})
	rt := g.Route(core.Permit("Document", "viewer", doc))
	// Warm the session first so that the requests meet at Keto.
	keto.ReplyAll(nil)
	if d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})); !d.Allow {
		t.Fatalf("denied: %v", d.Denial)
	}
	keto.Reset()
	arrived := make(chan struct{}, n)
	keto.OnRequest(func(orytest.KetoRequest) { arrived <- struct{}{} })
	keto.ReplyAll(&orytest.Reply{Until: release, Body: []byte(`{"allowed":true}`)})
	var wg sync.WaitGroup
	results := make(chan bool, n)
	for range n {
		wg.Go(func() {
			results <- rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})).Allow
		})
	}
	<-arrived // the leader's call is at Keto; the others wait for it or join
	waitFor(t, func() bool { return core.PermissionWaiters(g) == n-1 })
	close(release)
	wg.Wait()
	close(results)
	for ok := range results {
		if !ok {
			t.Error("a collapsed request was denied")
		}
	}
	if c := keto.Calls(); c != 1 {
		t.Errorf("%d calls for %d identical concurrent checks, want 1", c, n)
	}
}

// TestPermitAPIKey: the key goes as a bearer token to Keto and nowhere
// else, and never into the logs.
func TestPermitAPIKey(t *testing.T) {
	const key = "ory_pat_secret_key_123"
	g, ory, keto, logs := permGuard(t, func(c *core.Config) { c.Permissions.APIKey = key })
	keto.Allow("Document", "d1", "viewer", aliceID)
	rt := g.Route(core.Permit("Document", "viewer", doc))
	if d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})); !d.Allow {
		t.Fatalf("denied: %v", d.Denial)
	}
	keto.ReplyAll(&orytest.Reply{Status: 500, Body: []byte("boom " + key)})
	if d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})); d.Allow {
		t.Fatal("allowed on a 500")
	}
	for _, r := range keto.Requests() {
		if r.Authorization != "Bearer "+key {
			t.Errorf("Authorization = %q", r.Authorization)
		}
	}
	for _, r := range ory.Requests() {
		if strings.Contains(r.Authorization, key) {
			t.Errorf("the key went to Ory's whoami: %+v", r)
		}
	}
	if strings.Contains(logs.String(), key) {
		t.Errorf("the key is in the logs: %s", logs.String())
	}
}

// TestPermitDefaultURL: without Permissions.URL the checks go to OryURL
// (Ory Network serves both).
func TestPermitDefaultURL(t *testing.T) {
	keto := orytest.NewKeto()
	defer keto.Close()
	keto.Allow("Document", "d1", "viewer", aliceID)
	// The fake Keto answers whoami with 404; put a fake Ory in front.
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(aliceToken, orytest.ActiveSession("s-alice", "alice@example.com"))
	mux := http.NewServeMux()
	mux.Handle("/sessions/", ory.Config.Handler)
	mux.Handle("/relation-tuples/", keto.Config.Handler)
	both := httptest.NewServer(mux)
	defer both.Close()
	g, _ := newGuard(t, both.URL, nil)
	if d := g.Route(core.Permit("Document", "viewer", doc)).Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})); !d.Allow {
		t.Fatalf("denied: %v", d.Denial)
	}
	if keto.Calls() != 1 {
		t.Errorf("%d calls to Keto", keto.Calls())
	}
}

func TestPermissionsConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    core.PermissionsConfig
		c    core.CacheConfig
	}{
		{"bad URL", core.PermissionsConfig{URL: "keto:4466"}, core.CacheConfig{}},
		{"URL with user", core.PermissionsConfig{URL: "http://u:p@keto"}, core.CacheConfig{}},
		{"negative timeout", core.PermissionsConfig{Timeout: -1}, core.CacheConfig{}},
		{"negative cache TTL", core.PermissionsConfig{CacheTTL: -1}, core.CacheConfig{}},
		{"negative cache size", core.PermissionsConfig{CacheMaxEntries: -1}, core.CacheConfig{}},
		{"cache without the session cache", core.PermissionsConfig{CacheTTL: time.Second}, core.CacheConfig{Disabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.New(core.Config{OryURL: "http://ory.test", Permissions: tc.p, Cache: tc.c})
			if !errors.Is(err, core.ErrInvalidConfig) || !strings.Contains(err.Error(), "Permissions") {
				t.Errorf("New = %v, want ErrInvalidConfig naming Permissions", err)
			}
		})
	}
}

var _ = json.Marshal

// aliceSession is a session of alice's identity.
func aliceSession(id string) client.Session {
	s := orytest.ActiveSession(id, "alice@example.com")
	s.Identity.Id = aliceID
	return s
}

func TestPermitCache(t *testing.T) {
	viewer := orytest.Tuple{Namespace: "Document", Object: "d1", Relation: "viewer", SubjectID: aliceID}
	req := func() *core.Request { return permReq(aliceToken, params{"doc": "d1"}) }
	t.Run("off asks every time", func(t *testing.T) {
		g, _, keto, _ := permGuard(t, nil)
		keto.Add(viewer)
		rt := g.Route(core.Permit("Document", "viewer", doc))
		for range 3 {
			if !rt.Authenticate(context.Background(), req()).Allow {
				t.Fatal("denied")
			}
		}
		keto.Remove(viewer)
		if rt.Authenticate(context.Background(), req()).Allow {
			t.Fatal("a removed tuple still allows with the cache off")
		}
		if n := keto.Calls(); n != 4 {
			t.Errorf("%d calls, want 4", n)
		}
		if n := g.PermissionCacheEntries(); n != 0 {
			t.Errorf("%d cache entries with the cache off", n)
		}
	})
	t.Run("on reuses allowed answers only", func(t *testing.T) {
		g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Permissions.CacheTTL = time.Minute })
		rt := g.Route(core.Permit("Document", "viewer", doc))
		if rt.Authenticate(context.Background(), req()).Allow {
			t.Fatal("allowed without a tuple")
		}
		keto.Add(viewer) // a denial is never cached: the tuple counts at once
		for range 3 {
			if !rt.Authenticate(context.Background(), req()).Allow {
				t.Fatal("denied")
			}
		}
		if n := keto.Calls(); n != 2 {
			t.Errorf("%d calls, want 2 (the denial, then one allow reused)", n)
		}
		// Another object, relation or namespace is another entry.
		keto.Reset()
		for _, rt := range []*core.Route{
			g.Route(core.Permit("Document", "editor", doc)),
			g.Route(core.Permit("Folder", "viewer", doc)),
		} {
			if rt.Authenticate(context.Background(), req()).Allow {
				t.Fatal("allowed from another tuple's entry")
			}
		}
		if rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d2"})).Allow {
			t.Fatal("allowed from another object's entry")
		}
		if n := keto.Calls(); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if n := g.PermissionCacheEntries(); n != 1 {
			t.Errorf("%d cache entries, want 1", n)
		}
	})
	t.Run("expires", func(t *testing.T) {
		g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Permissions.CacheTTL = 50 * time.Millisecond })
		keto.Add(viewer)
		rt := g.Route(core.Permit("Document", "viewer", doc))
		rt.Authenticate(context.Background(), req())
		keto.Remove(viewer)
		time.Sleep(60 * time.Millisecond)
		if rt.Authenticate(context.Background(), req()).Allow {
			t.Fatal("allowed past the TTL")
		}
	})
}

// TestPermitCacheForgotten: a logout or ForgetSession drops the cached
// answers of the session's identity (for every session of it), here and on
// every instance of the fleet that checked a permission for the session.
func TestPermitCacheForgotten(t *testing.T) {
	viewer := orytest.Tuple{Namespace: "Document", Object: "d1", Relation: "viewer", SubjectID: aliceID}
	for _, tc := range []struct {
		name   string
		forget func(t *testing.T, a *core.Guard)
	}{
		{"ForgetSession", func(t *testing.T, a *core.Guard) {
			if err := a.ForgetSession(context.Background(), "s-alice"); err != nil {
				t.Fatal(err)
			}
		}},
		{"logout", func(t *testing.T, a *core.Guard) {
			r := &core.Request{Method: http.MethodPost, URI: "/logout", SessionToken: aliceToken}
			if d := a.LogoutRedirect(context.Background(), r); d.Status != http.StatusNoContent {
				t.Fatalf("logout: %d", d.Status)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ory := orytest.NewServer()
			defer ory.Close()
			ory.Session(aliceToken, aliceSession("s-alice"))
			ory.Session("tok-alice-2", aliceSession("s-alice-2"))
			keto := orytest.NewKeto()
			defer keto.Close()
			keto.Add(viewer)
			fleet := newFleet()
			guard := func() *core.Guard {
				g, _ := newGuard(t, ory.URL, func(c *core.Config) {
					c.Cache = core.CacheConfig{TTL: time.Minute, Shared: fleet.tier(secretA)}
					c.Permissions = core.PermissionsConfig{URL: keto.URL, CacheTTL: time.Minute}
				})
				return g
			}
			a, b := guard(), guard()
			check := func(g *core.Guard, token string) {
				t.Helper()
				if d := g.Route(core.Permit("Document", "viewer", doc)).Authenticate(context.Background(), permReq(token, params{"doc": "d1"})); !d.Allow {
					t.Fatalf("denied: %v", d.Denial)
				}
			}
			for _, g := range []*core.Guard{a, b} {
				check(g, aliceToken)
				check(g, "tok-alice-2") // the same identity: the entry serves
			}
			if n := keto.Calls(); n != 2 {
				t.Fatalf("%d calls, want one per instance", n)
			}
			tc.forget(t, a)
			for i, g := range []*core.Guard{a, b} {
				check(g, "tok-alice-2")
				if n := keto.Calls(); n != 3+i {
					t.Fatalf("instance %d: %d calls; the identity's entry was not dropped", i, n)
				}
			}
		})
	}
}

func TestPermitCacheFleetDropsAll(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session(aliceToken, aliceSession("s-alice"))
	keto := orytest.NewKeto()
	defer keto.Close()
	keto.Allow("Document", "d1", "viewer", aliceID)
	fleet := newFleet()
	g, _ := newGuard(t, ory.URL, func(c *core.Config) {
		c.Cache = core.CacheConfig{TTL: time.Minute, Shared: fleet.tier(secretA)}
		c.Permissions = core.PermissionsConfig{URL: keto.URL, CacheTTL: time.Minute}
	})
	rt := g.Route(core.Permit("Document", "viewer", doc))
	for range 2 {
		rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	}
	fleet.publish(core.Invalidation{All: true})
	rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	if n := keto.Calls(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

// TestPermitCacheForgetRacesAnswer: an answer to a question asked before
// ForgetSession, arriving after it, is not cached.
func TestPermitCacheForgetRacesAnswer(t *testing.T) {
	g, _, keto, _ := permGuard(t, func(c *core.Config) {
		c.Cache.TTL = time.Minute
		c.Permissions.CacheTTL = time.Minute
	})
	keto.Allow("Document", "d1", "viewer", aliceID)
	rt := g.Route(core.Permit("Document", "viewer", doc))
	rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})) // the session is known
	if err := g.ForgetSession(context.Background(), "s-alice"); err != nil {
		t.Fatal(err)
	}
	// The session is forgotten: cache the session again, then hold an
	// answer while forgetting it.
	rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d2"}))
	keto.Allow("Document", "d2", "viewer", aliceID)
	release := make(chan struct{})
	keto.ReplyAll(&orytest.Reply{Until: release, Body: []byte(`{"allowed":true}`)})
	arrived := make(chan struct{}, 1)
	keto.OnRequest(func(orytest.KetoRequest) { arrived <- struct{}{} })
	done := make(chan bool)
	go func() { done <- rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d2"})).Allow }()
	<-arrived
	if err := g.ForgetSession(context.Background(), "s-alice"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if !<-done {
		t.Fatal("the held answer was an allow")
	}
	keto.OnRequest(nil)
	keto.ReplyAll(nil)
	keto.Reset()
	rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d2"}))
	if keto.Calls() != 1 {
		t.Fatal("an answer to a question asked before ForgetSession was cached")
	}
}

// countingObserver is an Observer written before permission checks: it
// does not implement PermissionObserver and still works.
type countingObserver struct {
	core.NopObserver
	mu        sync.Mutex
	decisions []core.Outcome
}

func (o *countingObserver) Decision(_ context.Context, out core.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.decisions = append(o.decisions, out)
}

type permObserver struct {
	countingObserver
	checks []core.PermissionCheck
}

func (o *permObserver) PermissionCheck(_ context.Context, c core.PermissionCheck) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checks = append(o.checks, c)
}

func TestPermissionObserver(t *testing.T) {
	old := &countingObserver{}
	g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Observer = old })
	keto.Allow("Document", "d1", "viewer", aliceID)
	if !g.Route(core.Permit("Document", "viewer", doc)).Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})).Allow {
		t.Fatal("denied")
	}
	if len(old.decisions) != 1 || old.decisions[0] != core.OutcomeAllowed {
		t.Errorf("decisions %v", old.decisions)
	}

	for _, objects := range []bool{false, true} {
		obs := &permObserver{}
		g, _, keto, _ := permGuard(t, func(c *core.Config) {
			c.Observer = obs
			c.Permissions.Batch = true
			c.Permissions.ObserveObjects = objects
		})
		keto.Allow("Document", "d1", "viewer", aliceID)
		rt := g.Route(core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc))
		d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
		if d.Allow || !errors.Is(d.Denial, core.ErrPermissionDenied) {
			t.Fatalf("decision %+v", d)
		}
		if len(obs.decisions) != 1 || obs.decisions[0] != core.OutcomeForbidden {
			t.Errorf("decisions %v", obs.decisions)
		}
		wantObject := ""
		if objects {
			wantObject = "d1"
		}
		want := []core.PermissionCheck{
			{Namespace: "Document", Relation: "viewer", Object: wantObject, Result: core.PermissionAllowed, Status: 200, Batch: 2},
			{Namespace: "Document", Relation: "editor", Object: wantObject, Result: core.PermissionDenied, Status: 200, Batch: 2},
		}
		if len(obs.checks) != len(want) {
			t.Fatalf("checks %+v", obs.checks)
		}
		for i, c := range obs.checks {
			if c.Duration <= 0 {
				t.Errorf("check %d: duration %v", i, c.Duration)
			}
			c.Duration = 0
			if c != want[i] {
				t.Errorf("check %d = %+v, want %+v", i, c, want[i])
			}
		}
	}
}

// TestPermitBusy: with MaxConcurrentLookups calls to Keto in flight, a
// further check is refused with 503 rather than piling onto Keto.
func TestPermitBusy(t *testing.T) {
	g, _, keto, _ := permGuard(t, func(c *core.Config) { c.MaxConcurrentLookups = 1 })
	keto.Allow("Document", "d1", "viewer", aliceID)
	keto.Allow("Document", "d2", "viewer", aliceID)
	rt := g.Route(core.Permit("Document", "viewer", doc))
	rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})) // the session is cached
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	keto.OnRequest(func(orytest.KetoRequest) { arrived <- struct{}{}; <-release })
	done := make(chan bool)
	go func() { done <- rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})).Allow }()
	<-arrived
	d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d2"}))
	close(release)
	if d.Allow || d.Status != http.StatusServiceUnavailable || !errors.Is(d.Denial, core.ErrBusy) || d.Header.Get("Retry-After") == "" {
		t.Errorf("decision %d %v, want 503 ErrBusy with Retry-After", d.Status, d.Denial)
	}
	if !<-done {
		t.Error("the call in flight was denied")
	}
}

// TestPermitHonoursRetryAfter: after Keto's 429, checks are answered 429
// without asking Keto (but for a probe or two a second) until Retry-After
// has passed or a probe gets an answer.
func TestPermitHonoursRetryAfter(t *testing.T) {
	g, _, keto, _ := permGuard(t, nil)
	keto.Allow("Document", "d1", "viewer", aliceID)
	rt := g.Route(core.Permit("Document", "viewer", doc))
	keto.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"30"}}, Body: []byte(`{}`)})
	if d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"})); d.Status != 429 {
		t.Fatalf("status %d", d.Status)
	}
	keto.ReplyAll(nil)
	d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	if d.Allow || d.Status != 429 || !errors.Is(d.Denial, core.ErrRateLimited) {
		t.Fatalf("decision %d %v, want 429 while backing off", d.Status, d.Denial)
	}
	if ra := d.Header.Get("Retry-After"); ra != "30" && ra != "29" {
		t.Errorf("Retry-After %q", ra)
	}
	if n := keto.Calls(); n != 1 {
		t.Errorf("%d calls, want 1: Keto asked while backing off", n)
	}
}

func TestPermitPanicsOnEmptyNames(t *testing.T) {
	for name, fn := range map[string]func(){
		"Permit namespace":     func() { core.Permit("", "viewer", doc) },
		"Permit relation":      func() { core.Permit("Document", "", doc) },
		"SubjectSet namespace": func() { core.SubjectSet("", "member") },
		"SubjectSet relation":  func() { core.SubjectSet("Group", "") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn()
		})
	}
}

// TestPermitSessionWithoutIdentity: a session whose identity ID is missing
// has no subject to ask about and is denied without asking Keto.
func TestPermitSessionWithoutIdentity(t *testing.T) {
	g, ory, keto, _ := permGuard(t, nil)
	s := orytest.ActiveSession("s-anon", "x@example.com")
	s.Identity.Id = ""
	ory.Session("tok-anon", s)
	d := g.Route(core.Permit("Document", "viewer", doc)).Authenticate(context.Background(), permReq("tok-anon", params{"doc": "d1"}))
	if d.Allow || !errors.Is(d.Denial, core.ErrPermissionDenied) || keto.Calls() != 0 {
		t.Errorf("decision %d %v after %d calls", d.Status, d.Denial, keto.Calls())
	}
}

// TestPermitBrowserAnswers: a browser denied a permission, or whose check
// Keto could not answer, gets the guard's plain-text answer, never a login
// redirect, on required and optional routes alike.
func TestPermitBrowserAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reply  *orytest.Reply
		status int
		text   string
	}{
		{"denied", nil, 403, "You do not have permission to access this resource.\n"},
		{"Keto failing", &orytest.Reply{Status: 500, Body: []byte(`{}`)}, 502, "Permissions could not be checked because Ory Permissions is unavailable.\n"},
	} {
		for _, optional := range []bool{false, true} {
			g, _, keto, _ := permGuard(t, nil)
			keto.ReplyAll(tc.reply)
			opts := []core.Option{core.Permit("Document", "viewer", doc)}
			if optional {
				opts = append(opts, core.Optional())
			}
			d := g.Route(opts...).Authenticate(context.Background(), browserPermReq(aliceToken, params{"doc": "d1"}))
			if d.Allow || d.Status != tc.status || string(d.Body) != tc.text || d.Header.Get("Location") != "" || d.Denial.API {
				t.Errorf("%s, optional=%v: allow=%v %d %q Location %q", tc.name, optional, d.Allow, d.Status, d.Body, d.Header.Get("Location"))
			}
			if a := core.Answer(d.Denial); a.Status != tc.status || string(a.Body) != tc.text {
				t.Errorf("%s: Answer = %d %q", tc.name, a.Status, a.Body)
			}
		}
	}
}

// TestPermitFirstDenialDecides: without Batch, a denial answers at once,
// without waiting for the route's other checks (held here until the
// request has been answered).
func TestPermitFirstDenialDecides(t *testing.T) {
	g, _, keto, _ := permGuard(t, func(c *core.Config) { c.Permissions.Timeout = 10 * time.Second })
	keto.Allow("Document", "d1", "editor", aliceID)
	held := make(chan struct{})
	defer close(held)
	keto.OnRequest(func(r orytest.KetoRequest) {
		if len(r.Tuples) == 1 && r.Tuples[0].Relation == "editor" {
			<-held
		}
	})
	rt := g.Route(core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc))
	d := rt.Authenticate(context.Background(), permReq(aliceToken, params{"doc": "d1"}))
	if d.Allow || d.Status != 403 || !errors.Is(d.Denial, core.ErrPermissionDenied) {
		t.Fatalf("decision %d %v, want 403 from the first denial", d.Status, d.Denial)
	}
}
