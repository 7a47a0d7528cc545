package orytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Tuple is a relation tuple: Subject (an identity ID) or the subject set
// SetNamespace:SetObject#SetRelation has Relation on Namespace:Object.
type Tuple struct {
	Namespace, Object, Relation string
	// SubjectID is the subject, unless SetNamespace is set.
	SubjectID string
	// SetNamespace, SetObject and SetRelation name a subject set.
	SetNamespace, SetObject, SetRelation string
}

// KetoRequest is what one request to the fake Keto carried.
type KetoRequest struct {
	Method string
	// Path is the request's path, as decoded by net/http.
	Path string
	// RawQuery is the query string as received.
	RawQuery string
	// Query is RawQuery parsed.
	Query url.Values
	// Body is the request body (POST), at most 1 MiB.
	Body []byte
	// Authorization is the Authorization header.
	Authorization string
	// Tuples are the tuples the request asked about, in order (from the
	// query or the body); empty when it could not be read.
	Tuples []Tuple
}

// Keto is a fake Ory Permissions (Keto) read API for tests: it answers
// permission checks from the tuples the test sets, records what reached
// it, and can misbehave on demand.
//
// It serves GET and POST /relation-tuples/check (403 on deny, as Keto
// does) and /relation-tuples/check/openapi (200 {"allowed": bool} either
// way), and POST /relation-tuples/batch/check in Keto v0.14's shape
// ({"tuples": [...]} answered by {"results": [{"allowed": bool, "error":
// "..."}]} in input order). A subject set in a tuple is expanded as Keto
// does (up to 8 levels): "members of group:eng are viewers of doc:1" lets
// every subject with member on group:eng view doc:1.
//
// It is a test double for the calls the guard makes, not a Keto: end-to-end
// tests run against a real Keto. Build it with NewKeto and Close it when
// done.
type Keto struct {
	*httptest.Server

	mu       sync.Mutex
	tuples   map[Tuple]bool
	fallback *Reply
	noBatch  bool
	maxBatch int
	requests []KetoRequest
	hook     func(KetoRequest)
	barrier  *barrier
}

// NewKeto starts a fake Keto on a loopback port, with no tuples.
func NewKeto() *Keto {
	k := &Keto{tuples: map[Tuple]bool{}}
	k.Server = httptest.NewServer(http.HandlerFunc(k.serve))
	return k
}

// Allow adds the tuple subjectID has relation on namespace:object.
func (k *Keto) Allow(namespace, object, relation, subjectID string) {
	k.Add(Tuple{Namespace: namespace, Object: object, Relation: relation, SubjectID: subjectID})
}

// Add adds a tuple.
func (k *Keto) Add(t Tuple) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tuples[t] = true
}

// Remove deletes a tuple; the next check sees it gone.
func (k *Keto) Remove(t Tuple) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.tuples, t)
}

// Clear removes every tuple.
func (k *Keto) Clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.tuples)
}

// ReplyAll makes every check get r instead of an answer from the tuples
// (fault injection: a Status such as 500 or 429 with a Retry-After Header,
// a Delay or Hang, a Body that is not JSON or is huge, Truncate). Pass nil
// to answer from the tuples again.
func (k *Keto) ReplyAll(r *Reply) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fallback = r
}

// DisableBatch makes the batch endpoint answer 404, as Keto before v0.14
// does.
func (k *Keto) DisableBatch() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.noBatch = true
}

// MaxBatch makes a batch of more than n tuples answer 400, as Keto's
// limit.max_batch_check_size does. Zero means no limit (the default).
func (k *Keto) MaxBatch(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.maxBatch = n
}

// OnRequest makes fn run for every request, after it is recorded and
// before it is answered, on the request's own goroutine. Pass nil to
// remove it.
func (k *Keto) OnRequest(fn func(KetoRequest)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hook = fn
}

// Barrier holds each of the next n requests until all n have arrived (or
// a held request's client gives up), then answers them all. A test proves
// that n calls are concurrent without timing: were they sequential, the
// first would wait until its client timed out.
func (k *Keto) Barrier(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.barrier = &barrier{left: n, open: make(chan struct{})}
}

type barrier struct {
	left int
	open chan struct{}
}

// Requests returns what every request so far carried, oldest first.
func (k *Keto) Requests() []KetoRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]KetoRequest(nil), k.requests...)
}

// Calls counts the requests so far (a batch is one).
func (k *Keto) Calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.requests)
}

// Reset forgets the recorded requests (not the tuples).
func (k *Keto) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = nil
}

const (
	pathCheck        = "/relation-tuples/check"
	pathCheckOpenAPI = "/relation-tuples/check/openapi"
	pathBatch        = "/relation-tuples/batch/check"
)

// relationship is Keto's JSON shape of a tuple.
type relationship struct {
	Namespace  string      `json:"namespace"`
	Object     string      `json:"object"`
	Relation   string      `json:"relation"`
	SubjectID  *string     `json:"subject_id,omitempty"`
	SubjectSet *subjectSet `json:"subject_set,omitempty"`
}

type subjectSet struct {
	Namespace string `json:"namespace"`
	Object    string `json:"object"`
	Relation  string `json:"relation"`
}

func (r relationship) tuple() Tuple {
	t := Tuple{Namespace: r.Namespace, Object: r.Object, Relation: r.Relation}
	if r.SubjectID != nil {
		t.SubjectID = *r.SubjectID
	}
	if s := r.SubjectSet; s != nil {
		t.SetNamespace, t.SetObject, t.SetRelation = s.Namespace, s.Object, s.Relation
	}
	return t
}

func queryTuple(q url.Values) Tuple {
	return Tuple{
		Namespace: q.Get("namespace"), Object: q.Get("object"), Relation: q.Get("relation"),
		SubjectID:    q.Get("subject_id"),
		SetNamespace: q.Get("subject_set.namespace"), SetObject: q.Get("subject_set.object"), SetRelation: q.Get("subject_set.relation"),
	}
}

func (k *Keto) serve(w http.ResponseWriter, r *http.Request) {
	rec := KetoRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(),
		Authorization: r.Header.Get("Authorization"),
	}
	rec.Body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var batch []relationship
	switch {
	case r.URL.Path == pathBatch && r.Method == http.MethodPost:
		var body struct {
			Tuples []relationship `json:"tuples"`
		}
		if json.Unmarshal(rec.Body, &body) == nil {
			batch = body.Tuples
			for _, t := range batch {
				rec.Tuples = append(rec.Tuples, t.tuple())
			}
		}
	case r.Method == http.MethodPost:
		var body relationship
		if json.Unmarshal(rec.Body, &body) == nil {
			rec.Tuples = []Tuple{body.tuple()}
		}
	default:
		rec.Tuples = []Tuple{queryTuple(rec.Query)}
	}

	k.mu.Lock()
	k.requests = append(k.requests, rec)
	hook, fallback, noBatch, maxBatch := k.hook, k.fallback, k.noBatch, k.maxBatch
	b := k.barrier
	if b != nil {
		if b.left--; b.left == 0 {
			close(b.open)
			k.barrier = nil
		}
	}
	k.mu.Unlock()

	if hook != nil {
		hook(rec)
	}
	if b != nil {
		select {
		case <-b.open:
		case <-r.Context().Done():
			return
		}
	}
	if fallback != nil {
		serveReply(w, r, *fallback)
		return
	}
	switch {
	case r.URL.Path == pathBatch && r.Method == http.MethodPost:
		if noBatch {
			http.NotFound(w, r)
			return
		}
		if maxBatch > 0 && len(batch) > maxBatch {
			write(w, Reply{Status: http.StatusBadRequest, Body: errorBody(http.StatusBadRequest, "", "batch exceeds max size", "")})
			return
		}
		type result struct {
			Allowed bool   `json:"allowed"`
			Error   string `json:"error,omitempty"`
		}
		out := struct {
			Results []result `json:"results"`
		}{Results: make([]result, len(rec.Tuples))}
		for i, t := range rec.Tuples {
			out.Results[i].Allowed = k.check(t, 8)
		}
		body, _ := json.Marshal(out)
		write(w, Reply{Body: body})
	case (r.URL.Path == pathCheck || r.URL.Path == pathCheckOpenAPI) && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		allowed := len(rec.Tuples) == 1 && k.check(rec.Tuples[0], 8)
		body, _ := json.Marshal(map[string]bool{"allowed": allowed})
		status := http.StatusOK
		if !allowed && r.URL.Path == pathCheck {
			status = http.StatusForbidden
		}
		write(w, Reply{Status: status, Body: body})
	default:
		http.NotFound(w, r)
	}
}

// check answers a tuple as Keto does: directly, or through a subject set
// whose members include the subject, up to depth levels.
func (k *Keto) check(t Tuple, depth int) bool {
	if depth <= 0 || t.Namespace == "" || t.Relation == "" {
		return false
	}
	k.mu.Lock()
	if k.tuples[t] {
		k.mu.Unlock()
		return true
	}
	var sets []Tuple
	for u := range k.tuples {
		if u.Namespace == t.Namespace && u.Object == t.Object && u.Relation == t.Relation && u.SetNamespace != "" {
			sets = append(sets, u)
		}
	}
	k.mu.Unlock()
	for _, s := range sets {
		inner := t
		inner.Namespace, inner.Object, inner.Relation = s.SetNamespace, s.SetObject, s.SetRelation
		if k.check(inner, depth-1) {
			return true
		}
	}
	return false
}

// serveReply writes a canned reply, honouring Hang, Until and Delay.
func serveReply(w http.ResponseWriter, r *http.Request, reply Reply) {
	if reply.Hang {
		<-r.Context().Done()
		return
	}
	if reply.Until != nil {
		select {
		case <-reply.Until:
		case <-r.Context().Done():
			return
		}
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	write(w, reply)
}
