package firsthour_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/firsthour"
	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// The proxy's bucket on a clock the test moves: a burst of 10, then one
// token per 100ms, with the wait until the next token.
func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := firsthour.NewBucket(10, 10, func() time.Time { return now })
	for i := range 10 {
		if ok, _ := b.Take(); !ok {
			t.Fatalf("take %d of the burst refused", i+1)
		}
	}
	steps := []struct {
		advance  time.Duration
		wantOK   bool
		wantWait time.Duration
	}{
		{0, false, 100 * time.Millisecond},
		{50 * time.Millisecond, false, 50 * time.Millisecond},
		{50 * time.Millisecond, true, 0},
		{0, false, 100 * time.Millisecond},
		{10 * time.Second, true, 0}, // refilled to the burst, not beyond
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, wait := b.Take()
		if ok != s.wantOK || (!ok && (wait < s.wantWait-time.Millisecond || wait > s.wantWait+time.Millisecond)) {
			t.Errorf("step %d: Take() = %v, %v; want %v, %v", i, ok, wait, s.wantOK, s.wantWait)
		}
	}
	for i := range 9 {
		if ok, _ := b.Take(); !ok {
			t.Fatalf("take %d after the refill refused", i+2)
		}
	}
	if ok, _ := b.Take(); ok {
		t.Error("the bucket held more than its burst")
	}
}

// One signed-in client making 20 sequential and then 20 parallel API calls
// through a guard with the default configuration (no cache settings), in
// front of a Kratos with feature_flags.cacheable_sessions behind a proxy
// limiting whoami to a burst of 10 and 10 a second: the guard follows
// Ory-Session-Cache-For, so Ory is asked once and no call draws a 429.
// With the cache off by default (before it followed Ory), every call asked
// Ory and the burst ran out.
func TestDefaultCacheFollowsOryUnderRateLimit(t *testing.T) {
	kr := harness.StartKratosT(t, harness.KratosOptions{CacheableSessions: true})
	s, err := kr.RegisterAPI(t.Context(), "firsthour@example.com", "a-l0ng-and-unusual-passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	w, err := kr.WhoamiToken(t.Context(), s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if h := w.Header.Get("Ory-Session-Cache-For"); h == "" {
		t.Fatal("Kratos sent no Ory-Session-Cache-For (is feature_flags.cacheable_sessions on?)")
	}

	limiter, err := firsthour.NewRateLimiter(kr.PublicURL(), firsthour.NewBucket(10, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer limiter.Close()

	guard, err := core.New(core.Config{OryURL: limiter.URL}) // the defaults
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(oryhttp.Middleware(guard)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := oryhttp.Session(r.Context()); !ok {
			http.Error(w, "no session in the context", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})))
	defer app.Close()

	call := func() (int, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, app.URL+"/api/items", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Session-Token", s.Token)
		resp, err := app.Client().Do(req)
		if err != nil {
			return 0, fmt.Errorf("GET /api/items: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	for i := range 20 {
		status, err := call()
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusOK {
			t.Errorf("sequential call %d: status %d, want 200", i+1, status)
		}
	}
	statuses := make([]int, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { statuses[i], errs[i] = call() })
	}
	wg.Wait()
	for i := range 20 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if statuses[i] != http.StatusOK {
			t.Errorf("parallel call %d: status %d, want 200", i+1, statuses[i])
		}
	}

	if n := limiter.Limited(); n != 0 {
		t.Errorf("the proxy answered %d whoami calls with 429, want none", n)
	}
	if n := limiter.Forwarded(); n != 1 {
		t.Errorf("the proxy forwarded %d whoami calls for 40 API calls of one session, want 1", n)
	}
}
