package orytest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oryguard/oryguard/core/orytest"
)

func ketoDo(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestKetoAnswers(t *testing.T) {
	k := orytest.NewKeto()
	defer k.Close()
	k.Allow("Doc", "a/b#c", "view", "alice")
	k.Add(orytest.Tuple{Namespace: "Group", Object: "eng", Relation: "member", SubjectID: "bob"})
	k.Add(orytest.Tuple{Namespace: "Doc", Object: "d", Relation: "view", SetNamespace: "Group", SetObject: "eng", SetRelation: "member"})
	q := func(ns, obj, rel, sub string) string {
		return url.Values{"namespace": {ns}, "object": {obj}, "relation": {rel}, "subject_id": {sub}}.Encode()
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		answer                   string
	}{
		{"openapi allowed", "GET", "/relation-tuples/check/openapi?" + q("Doc", "a/b#c", "view", "alice"), "", 200, `{"allowed":true}`},
		{"openapi denied", "GET", "/relation-tuples/check/openapi?" + q("Doc", "a/b", "view", "alice"), "", 200, `{"allowed":false}`},
		{"check denied is 403", "GET", "/relation-tuples/check?" + q("Doc", "a/b", "view", "alice"), "", 403, `{"allowed":false}`},
		{"check allowed", "GET", "/relation-tuples/check?" + q("Doc", "a/b#c", "view", "alice"), "", 200, `{"allowed":true}`},
		{"through a subject set", "GET", "/relation-tuples/check/openapi?" + q("Doc", "d", "view", "bob"), "", 200, `{"allowed":true}`},
		{"not through a subject set", "GET", "/relation-tuples/check/openapi?" + q("Doc", "d", "view", "alice"), "", 200, `{"allowed":false}`},
		{"POST check", "POST", "/relation-tuples/check/openapi", `{"namespace":"Doc","object":"a/b#c","relation":"view","subject_id":"alice"}`, 200, `{"allowed":true}`},
		{"subject set subject", "POST", "/relation-tuples/check/openapi", `{"namespace":"Doc","object":"d","relation":"view","subject_set":{"namespace":"Group","object":"eng","relation":"member"}}`, 200, `{"allowed":true}`},
		{"batch", "POST", "/relation-tuples/batch/check",
			`{"tuples":[{"namespace":"Doc","object":"a/b#c","relation":"view","subject_id":"alice"},{"namespace":"Doc","object":"x","relation":"view","subject_id":"alice"}]}`,
			200, `{"results":[{"allowed":true},{"allowed":false}]}`},
		{"unknown path", "GET", "/relation-tuples/nope", "", 404, "404 page not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := ketoDo(t, tc.method, k.URL+tc.path, tc.body)
			if status != tc.status || body != tc.answer {
				t.Errorf("%d %s, want %d %s", status, body, tc.status, tc.answer)
			}
		})
	}
	reqs := k.Requests()
	if len(reqs) != k.Calls() || reqs[0].Query.Get("object") != "a/b#c" || reqs[0].Authorization != "Bearer k" {
		t.Errorf("recorded %+v", reqs[0])
	}
	if got := reqs[8].Tuples; len(got) != 2 || got[1].Object != "x" {
		t.Errorf("batch tuples %+v", got)
	}
}

func TestKetoFailuresAndLimits(t *testing.T) {
	k := orytest.NewKeto()
	defer k.Close()
	batch := `{"tuples":[{"namespace":"Doc","object":"a","relation":"view","subject_id":"alice"},{"namespace":"Doc","object":"b","relation":"view","subject_id":"alice"}]}`
	k.MaxBatch(1)
	if status, _ := ketoDo(t, "POST", k.URL+"/relation-tuples/batch/check", batch); status != 400 {
		t.Errorf("batch over the limit: %d", status)
	}
	k.DisableBatch()
	if status, _ := ketoDo(t, "POST", k.URL+"/relation-tuples/batch/check", batch); status != 404 {
		t.Errorf("batch disabled: %d", status)
	}
	k.ReplyAll(&orytest.Reply{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Body: []byte("slow down")})
	if status, body := ketoDo(t, "GET", k.URL+"/relation-tuples/check/openapi", ""); status != 429 || body != "slow down" {
		t.Errorf("fault: %d %s", status, body)
	}
	k.Reset()
	if k.Calls() != 0 {
		t.Error("Reset kept requests")
	}
	k.ReplyAll(nil)
	k.Allow("Doc", "a", "view", "alice")
	k.Clear()
	if _, body := ketoDo(t, "GET", k.URL+"/relation-tuples/check/openapi?namespace=Doc&object=a&relation=view&subject_id=alice", ""); body != `{"allowed":false}` {
		t.Errorf("after Clear: %s", body)
	}
}

func TestKetoBarrier(t *testing.T) {
	k := orytest.NewKeto()
	defer k.Close()
	k.Barrier(3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if status, _ := ketoDo(t, "GET", k.URL+"/relation-tuples/check/openapi", ""); status != 200 {
				t.Errorf("status %d", status)
			}
		})
	}
	wg.Wait() // returns only because the three were held together
	if status, _ := ketoDo(t, "GET", k.URL+"/relation-tuples/check/openapi", ""); status != 200 {
		t.Error("a request after the barrier was held")
	}
}
