package core_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// slowTransport delays every call to Ory and records how many are in
// flight at once.
type slowTransport struct {
	next     http.RoundTripper
	delay    time.Duration
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	calls    atomic.Int64
}

func (s *slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(s.delay):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return s.next.RoundTrip(r)
}

// syncCounter counts log lines; it is safe for concurrent use.
type syncCounter struct{ lines atomic.Int64 }

func (c *syncCounter) Write(p []byte) (int, error) {
	c.lines.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func randomCredential() string { return rand.Text() + rand.Text() }

// TestFloodOfRandomCredentials sends a flood of distinct random credentials
// (each a cache miss that Ory answers 401 after a delay) while real users
// keep using their cached sessions. The whoami calls in flight never exceed
// MaxConcurrentLookups, the excess gets 503 with Retry-After: 1, every real
// user's request passes from the cache without a call to Ory, and memory
// and goroutines return to where they were.
func TestFloodOfRandomCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test in -short mode")
	}
	ory := orytest.NewServer()
	defer ory.Close()
	const users, limit = 20, 16
	for i := range users {
		ory.Session("user-"+strconv.Itoa(i), orytest.ActiveSession("s-"+strconv.Itoa(i), "u@example.com"))
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	slow := &slowTransport{next: tr, delay: 20 * time.Millisecond}
	logs := &syncCounter{}
	g, err := core.New(core.Config{
		OryURL:               ory.URL,
		HTTPClient:           &http.Client{Transport: slow},
		Timeout:              5 * time.Second,
		MaxConcurrentLookups: limit,
		Cache:                core.CacheConfig{TTL: time.Minute, MaxEntries: 1000},
		Logger:               slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := g.Route()
	userReq := func(i int) *core.Request {
		if i%2 == 0 {
			return &core.Request{URI: "/", Accept: "text/html", Cookies: []string{"ory_kratos_session=user-" + strconv.Itoa(i)}}
		}
		return &core.Request{URI: "/", SessionToken: "user-" + strconv.Itoa(i)}
	}
	for i := range users {
		if d := rt.Authenticate(context.Background(), userReq(i)); !d.Allow {
			t.Fatalf("warm-up of user %d: %d", i, d.Status)
		}
	}
	tr.CloseIdleConnections()
	heapBefore, goroutinesBefore := heapInUse(), runtime.NumGoroutine()
	callsBefore := ory.Calls()

	var (
		wg                        sync.WaitGroup
		stop                      = make(chan struct{})
		denied, busy, other, sent atomic.Int64
		userOK, userBad           atomic.Int64
		peakHeap                  atomic.Uint64
	)
	for w := range 64 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := &core.Request{URI: "/", SessionToken: randomCredential()}
				if w%2 == 0 {
					req = &core.Request{URI: "/", Accept: "text/html", Cookies: []string{"ory_kratos_session=" + randomCredential()}}
				}
				sent.Add(1)
				d := rt.Authenticate(context.Background(), req)
				switch {
				case d.Status == http.StatusSeeOther || d.Status == http.StatusUnauthorized:
					denied.Add(1)
				case d.Status == http.StatusServiceUnavailable && d.Header.Get("Retry-After") == "1" && d.Header.Get("Location") == "":
					busy.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i = (i + 1) % users {
				select {
				case <-stop:
					return
				default:
				}
				if d := rt.Authenticate(context.Background(), userReq(i)); d.Allow && d.Session.Id == "s-"+strconv.Itoa(i) {
					userOK.Add(1)
				} else {
					userBad.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
		}
	})
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	// Calls that carried a real user's credential during the flood.
	userCalls := 0
	for _, r := range ory.Requests()[callsBefore:] {
		if bytes.HasPrefix([]byte(r.SessionToken), []byte("user-")) || bytes.Contains([]byte(r.Cookie), []byte("=user-")) {
			userCalls++
		}
	}
	tr.CloseIdleConnections()
	goroutinesAfter := waitGoroutines(goroutinesBefore+2, 3*time.Second)
	heapAfter := heapInUse()
	t.Logf("flood: %d random credentials in 2s: %d denied after asking Ory, %d answered 503 (limit %d); whoami calls %d, at most %d in flight; "+
		"real users: %d requests allowed from the cache, %d failed, %d calls to Ory; heap %.1f MiB before, %.1f MiB peak, %.1f MiB after; goroutines %d → %d; %d log lines",
		sent.Load(), denied.Load(), busy.Load(), limit, slow.calls.Load(), slow.maxSeen.Load(),
		userOK.Load(), userBad.Load(), userCalls,
		mib(heapBefore), mib(peakHeap.Load()), mib(heapAfter), goroutinesBefore, goroutinesAfter, logs.lines.Load())

	if m := slow.maxSeen.Load(); m > limit {
		t.Errorf("%d whoami calls in flight, limit %d", m, limit)
	}
	if busy.Load() == 0 || denied.Load() == 0 {
		t.Errorf("the flood did not reach the limit: %d denied, %d busy", denied.Load(), busy.Load())
	}
	if other.Load() != 0 {
		t.Errorf("%d flood requests got an answer other than 303/401 or 503 with Retry-After: 1", other.Load())
	}
	if userBad.Load() != 0 || userOK.Load() == 0 {
		t.Errorf("real users: %d allowed, %d failed during the flood", userOK.Load(), userBad.Load())
	}
	if userCalls != 0 {
		t.Errorf("%d calls to Ory for cached real users during the flood", userCalls)
	}
	if peak := peakHeap.Load(); peak > heapBefore+64<<20 {
		t.Errorf("heap in use peaked at %.1f MiB (before: %.1f MiB)", mib(peak), mib(heapBefore))
	}
	if heapAfter > heapBefore+8<<20 {
		t.Errorf("heap in use grew from %.1f MiB to %.1f MiB", mib(heapBefore), mib(heapAfter))
	}
	if goroutinesAfter > goroutinesBefore+2 {
		t.Errorf("goroutines: %d before, %d after", goroutinesBefore, goroutinesAfter)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func waitGoroutines(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestDefaultLookupLimit: with the documented default
// (DefaultMaxConcurrentLookups), at most that many whoami calls are in
// flight however many distinct credentials arrive at once.
func TestDefaultLookupLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test in -short mode")
	}
	ory := orytest.NewServer()
	defer ory.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 512}
	defer tr.CloseIdleConnections()
	slow := &slowTransport{next: tr, delay: 500 * time.Millisecond}
	g, err := core.New(core.Config{OryURL: ory.URL, HTTPClient: &http.Client{Transport: slow}, Timeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n := core.DefaultMaxConcurrentLookups + 100
	var wg sync.WaitGroup
	var busy, denied atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			d := g.Route().Authenticate(context.Background(), &core.Request{URI: "/", SessionToken: randomCredential()})
			switch d.Status {
			case http.StatusServiceUnavailable:
				busy.Add(1)
			case http.StatusUnauthorized:
				denied.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if m := slow.maxSeen.Load(); m > int64(core.DefaultMaxConcurrentLookups) {
		t.Fatalf("%d calls in flight, default limit %d", m, core.DefaultMaxConcurrentLookups)
	}
	if busy.Load()+denied.Load() != int64(n) || busy.Load() < 100 {
		t.Fatalf("%d requests: %d got 503, %d got 401", n, busy.Load(), denied.Load())
	}
	t.Logf("%d distinct credentials at once: %d asked Ory (at most %d in flight), %d got 503", n, denied.Load(), slow.maxSeen.Load(), busy.Load())
}

// TestCacheBoundedUnderManyValidSessions: a flood of distinct credentials
// that Ory all accepts (an attacker with many accounts) cannot grow the
// cache past MaxEntries.
func TestCacheBoundedUnderManyValidSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test in -short mode")
	}
	s := orytest.ActiveSession("any", "any@example.com")
	s.Identity.Traits = map[string]any{"email": "any@example.com", "pad": string(bytes.Repeat([]byte("p"), 4<<10))}
	body := mustJSON(s)
	fake := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
	g, err := core.New(core.Config{OryURL: "http://ory.test", HTTPClient: &http.Client{Transport: fake},
		Cache: core.CacheConfig{TTL: time.Hour, MaxEntries: 100}, MaxConcurrentLookups: -1})
	if err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	const n = 2000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				req := &core.Request{URI: "/", SessionToken: fmt.Sprintf("valid-session-%d", i)}
				if d := g.Route().Authenticate(context.Background(), req); !d.Allow {
					t.Errorf("session %d denied: %d", i, d.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	after := heapInUse()
	// Without the bound these 2,000 sessions hold ~14 MiB (measured with
	// MaxEntries 100000); with it, ~1 MiB.
	if after > before+6<<20 {
		t.Fatalf("heap in use grew from %.1f MiB to %.1f MiB for a cache of 100 entries", mib(before), mib(after))
	}
	t.Logf("%d distinct valid sessions through a cache of MaxEntries 100: heap %.1f MiB → %.1f MiB", n, mib(before), mib(after))
	runtime.KeepAlive(g)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
