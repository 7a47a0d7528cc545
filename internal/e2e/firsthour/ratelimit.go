// Package firsthour is the end-to-end test of a new user's first hour
// against a real Ory Kratos behind a proxy that rate-limits whoami the way
// a small Ory Network plan does (burst 10, 10 a second): with the default
// configuration, one signed-in client's burst of API calls must cost one
// whoami call and draw no 429.
package firsthour

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WhoamiPath is the path of Ory's whoami endpoint, the one the proxy limits.
const WhoamiPath = "/sessions/whoami"

// Bucket is a token bucket: it holds at most Burst tokens, refilled at
// Rate a second; each request takes one. Its methods are safe for
// concurrent use.
type Bucket struct {
	burst  float64
	rate   float64
	now    func() time.Time
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket of burst tokens refilled at rate a
// second; now is the clock (nil: time.Now).
func NewBucket(burst, rate float64, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	return &Bucket{burst: burst, rate: rate, now: now, tokens: burst, last: now()}
}

// Take takes a token. When none is left it reports false and how long
// until one will be there.
func (b *Bucket) Take() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	b.tokens = math.Min(b.burst, b.tokens+t.Sub(b.last).Seconds()*b.rate)
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// RateLimiter is a reverse proxy in front of Ory's public API that answers
// whoami calls past its Bucket with 429 and Retry-After, as Ory Network
// does, and counts what it forwards and refuses.
type RateLimiter struct {
	// URL is the proxy's base URL: the guard's OryURL.
	URL       string
	srv       *httptest.Server
	bucket    *Bucket
	forwarded atomic.Int64
	limited   atomic.Int64
}

// NewRateLimiter starts a proxy to upstream (Ory's public URL) that limits
// whoami calls with bucket.
func NewRateLimiter(upstream string, bucket *Bucket) (*RateLimiter, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("parse upstream URL: %w", err)
	}
	rl := &RateLimiter{bucket: bucket}
	rp := httputil.NewSingleHostReverseProxy(u)
	rl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == WhoamiPath {
			if ok, wait := bucket.Take(); !ok {
				rl.limited.Add(1)
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				http.Error(w, `{"error":{"code":429,"status":"Too Many Requests"}}`, http.StatusTooManyRequests)
				return
			}
			rl.forwarded.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	rl.URL = rl.srv.URL
	return rl, nil
}

// Forwarded is the number of whoami calls passed on to Ory.
func (rl *RateLimiter) Forwarded() int64 { return rl.forwarded.Load() }

// Limited is the number of whoami calls answered 429.
func (rl *RateLimiter) Limited() int64 { return rl.limited.Load() }

// Close stops the proxy.
func (rl *RateLimiter) Close() { rl.srv.Close() }
