package core_test

import (
	"context"
	"encoding/json"
	"errors"
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
func permGuard(t *testing.T, mutate func(*core.Config)) (*core.Guard, *orytest.Server, *orytest.Keto, *logBuffer) {
	t.Helper()
	ory := orytest.NewServer()
	t.Cleanup(ory.Close)
	ory.Session(aliceToken, orytest.ActiveSession("s-alice", "alice@example.com"))
	keto := orytest.NewKeto()
	t.Cleanup(keto.Close)
	g, logs := newGuard(t, ory.URL, func(c *core.Config) {
		c.Permissions.URL = keto.URL
		c.Permissions.Timeout = 2 * time.Second
		if mutate != nil {
			mutate(c)
		}
	})
	return g, ory, keto, logs
}

func permReq(token string, p core.Params) *core.Request {
	return &core.Request{Method: http.MethodGet, URI: "/docs/x", Accept: "application/json", SessionToken: token, Params: p}
}

func browserPermReq(token string, p core.Params) *core.Request {
	r := permReq(token, p)
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
