package permissions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// ketoProxy sits between the guard and Keto's read API: it records every
// call and the tuples it asked about, and forwards it, holds it at a
// barrier, or answers in Keto's place.
type ketoProxy struct {
	URL string

	target *url.URL
	fwd    *httputil.ReverseProxy

	mu      sync.Mutex
	calls   []call
	barrier *barrier
	answer  http.HandlerFunc
}

// call is one request that reached the proxy.
type call struct {
	Method, Path string
	// Tuples are the checks it asked: one for a check, several for a
	// batch check.
	Tuples []harness.Tuple
	// Err says why the proxy could not read the call's tuples.
	Err error
}

// barrier holds calls until n have arrived, or fails them after timeout.
type barrier struct {
	n        int
	timeout  time.Duration
	arrived  int
	release  chan struct{}
	timedOut bool
}

func startKetoProxy(t *testing.T, ketoReadURL string) *ketoProxy {
	t.Helper()
	u, err := url.Parse(ketoReadURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &ketoProxy{target: u, fwd: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Hold makes the next n calls wait until all n have arrived; a call still
// waiting after timeout is answered 503 and Barrier reports it.
func (p *ketoProxy) Hold(n int, timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.barrier = &barrier{n: n, timeout: timeout, release: make(chan struct{})}
}

// BarrierTimedOut reports whether a call waited at the barrier in vain.
func (p *ketoProxy) BarrierTimedOut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.barrier != nil && p.barrier.timedOut
}

// Answer makes the proxy answer every call with h instead of Keto; nil
// forwards again.
func (p *ketoProxy) Answer(h http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = h
}

// Calls returns the calls so far and forgets them.
func (p *ketoProxy) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

func (p *ketoProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "proxy: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := call{Method: r.Method, Path: r.URL.Path}
	c.Tuples, c.Err = tuplesOf(r, body)

	p.mu.Lock()
	p.calls = append(p.calls, c)
	b, answer := p.barrier, p.answer
	var wait <-chan struct{}
	if b != nil && b.arrived < b.n {
		b.arrived++
		if b.arrived == b.n {
			close(b.release)
		}
		wait = b.release
	}
	p.mu.Unlock()

	if wait != nil {
		select {
		case <-wait:
		case <-time.After(b.timeout):
			p.mu.Lock()
			b.timedOut = true
			p.mu.Unlock()
			http.Error(w, "proxy: the barrier was not reached", http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			return
		}
	}
	if answer != nil {
		answer(w, r)
		return
	}
	p.fwd.ServeHTTP(w, r)
}

// tuplesOf reads the checks of one call to Keto's check API: the query of
// a GET, the JSON tuple of a POST, or the tuples of a batch check.
func tuplesOf(r *http.Request, body []byte) ([]harness.Tuple, error) {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		for k, v := range q {
			if len(v) != 1 {
				return nil, fmt.Errorf("query parameter %q given %d times", k, len(v))
			}
		}
		t := harness.Tuple{Namespace: q.Get("namespace"), Object: q.Get("object"), Relation: q.Get("relation"), SubjectID: q.Get("subject_id")}
		if q.Has("subject_set.namespace") || q.Has("subject_set.object") || q.Has("subject_set.relation") {
			t.SubjectSet = &harness.SubjectSet{Namespace: q.Get("subject_set.namespace"), Object: q.Get("subject_set.object"), Relation: q.Get("subject_set.relation")}
		}
		return []harness.Tuple{t}, nil
	}
	var batch struct {
		Tuples []harness.Tuple `json:"tuples"`
	}
	if err := json.Unmarshal(body, &batch); err == nil && batch.Tuples != nil {
		return batch.Tuples, nil
	}
	var t harness.Tuple
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("body %q: %w", body, err)
	}
	return []harness.Tuple{t}, nil
}
