package core_test

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/oryguard/oryguard/core"
)

// FuzzPermitObject: whatever the object (a path parameter an attacker
// chooses), Keto is asked about exactly that object, in the route's
// namespace and relation, for the session's identity, or not asked at all
// and the request denied; it is allowed only when Keto holds that tuple.
func FuzzPermitObject(f *testing.F) {
	for _, s := range []string{"d1", "a/b", "a#b", "a@b", "x:y", "..", "%2F", "%23", "a?namespace=Admin", "a&subject_id=root", "\xff", "", "a\x00b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	g, _, keto, _ := permGuard(f, nil)
	gb, _, ketoB, _ := permGuard(f, func(c *core.Config) { c.Permissions.Batch = true })
	for _, k := range []interface {
		Allow(string, string, string, string)
	}{keto, ketoB} {
		k.Allow("Document", "d1", "viewer", aliceID)
		k.Allow("Document", "d1", "editor", aliceID)
		k.Allow("Admin", "a", "owner", aliceID)
	}
	rt := g.Route(core.Permit("Document", "viewer", doc))
	rtB := gb.Route(core.Permit("Document", "viewer", doc), core.Permit("Document", "editor", doc))
	f.Fuzz(func(t *testing.T, object string, batch bool) {
		k, route := keto, rt
		if batch {
			k, route = ketoB, rtB
		}
		k.Reset()
		d := route.Authenticate(context.Background(), permReq(aliceToken, params{"doc": object}))
		if d.Allow != (object == "d1") {
			t.Fatalf("%q: allowed=%v", object, d.Allow)
		}
		reqs := k.Requests()
		if object == "" || !utf8.ValidString(object) {
			if len(reqs) != 0 {
				t.Fatalf("%q: Keto asked %+v", object, reqs)
			}
			return
		}
		if len(reqs) != 1 {
			t.Fatalf("%q: %d calls", object, len(reqs))
		}
		for _, tu := range reqs[0].Tuples {
			if tu.Object != object || tu.Namespace != "Document" || (tu.Relation != "viewer" && tu.Relation != "editor") ||
				tu.SubjectID != aliceID || tu.SetNamespace != "" || tu.SetObject != "" || tu.SetRelation != "" {
				t.Fatalf("%q: Keto was asked %+v", object, tu)
			}
		}
	})
}
