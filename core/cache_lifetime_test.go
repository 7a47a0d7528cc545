package core

import (
	"net/http"
	"testing"
	"time"
)

// TestLifetime checks the bounds an entry's life gets: the TTL (or
// DefaultCacheCap when following Ory), expires_at, and
// Ory-Session-Cache-For less Age.
func TestLifetime(t *testing.T) {
	sent := time.Unix(1_000_000, 0)
	at := func(d time.Duration) int64 { return sent.Add(d).UnixNano() }
	never := at(1000 * time.Hour)
	tests := []struct {
		name      string
		ttl       time.Duration // 0: follow Ory
		stale     time.Duration
		cacheFor  string
		age       string
		expires   int64
		wantFresh int64
		wantEvict int64
	}{
		{"follow, a day capped", 0, 0, "86400", "", never, at(DefaultCacheCap), at(DefaultCacheCap)},
		{"follow, 30s less Age 10", 0, 0, "30", "10", never, at(20 * time.Second), at(20 * time.Second)},
		{"follow, expires first", 0, 0, "30", "", at(5 * time.Second), at(5 * time.Second), at(5 * time.Second)},
		{"follow, no header", 0, 0, "", "", never, sent.UnixNano(), sent.UnixNano()},
		{"TTL, no header", time.Hour, 0, "", "", never, at(time.Hour), at(time.Hour)},
		{"TTL below header", 10 * time.Second, 0, "30", "", never, at(10 * time.Second), at(10 * time.Second)},
		{"TTL, header less Age", time.Hour, time.Minute, "30", "25", never, at(5 * time.Second), at(5 * time.Second)},
		{"TTL, stale", time.Minute, time.Minute, "", "", never, at(time.Minute), at(2 * time.Minute)},
		{"huge Age", time.Hour, 0, "30", "9223372036854775807", never, sent.UnixNano(), sent.UnixNano()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Guard{ttl: tc.ttl, stale: tc.stale, followOry: tc.ttl == 0}
			if g.followOry {
				g.ttl = DefaultCacheCap
			}
			h := http.Header{}
			if tc.cacheFor != "" {
				h.Set("Ory-Session-Cache-For", tc.cacheFor)
			}
			if tc.age != "" {
				h.Set("Age", tc.age)
			}
			fresh, evict := g.lifetime(h, sent, tc.expires)
			// Not cached means fresh is not after sent.
			if tc.wantFresh == sent.UnixNano() {
				if fresh > sent.UnixNano() {
					t.Fatalf("fresh %v after sending, want not cached", time.Unix(0, fresh).Sub(sent))
				}
				return
			}
			if fresh != tc.wantFresh || evict != tc.wantEvict {
				t.Fatalf("fresh %v, evict %v; want %v, %v", time.Unix(0, fresh).Sub(sent), time.Unix(0, evict).Sub(sent),
					time.Unix(0, tc.wantFresh).Sub(sent), time.Unix(0, tc.wantEvict).Sub(sent))
			}
		})
	}
}
