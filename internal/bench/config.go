package bench

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Config sizes a run. Full is what `make bench` uses; the tests use tiny
// values.
type Config struct {
	// BenchTime is the length of one round of a core micro-benchmark
	// (testing.Benchmark's -test.benchtime).
	BenchTime time.Duration
	// MicroRounds is how many interleaved rounds each micro-benchmark
	// comparison runs.
	MicroRounds int
	// Load generates HTTP load on loopback.
	Load Loader
	// LoadTime is the length of one load run; LoadRounds how many
	// interleaved runs per variant; Warmup the length of one unmeasured run
	// per variant first.
	LoadTime   time.Duration
	LoadRounds int
	Warmup     time.Duration
	// KratosLoadTime is LoadTime for the runs against Kratos.
	KratosLoadTime time.Duration
	// Collapse is the number of concurrent cold requests with one
	// credential; CollapseDelay holds the fake whoami back so that they
	// all arrive while the first call is in flight.
	Collapse      int
	CollapseDelay time.Duration
	// MaxEntries is the cache bound for the memory measurement; Flood is
	// how many times more distinct credentials are sent after the cache
	// is full.
	MaxEntries int
	Flood      int
	// UserTime is how long the active user of section 7 clicks.
	UserTime time.Duration
	// Log receives progress lines; nil means none.
	Log io.Writer
}

// Full is the configuration of `make bench` for a 2-core machine: about
// three minutes in all (2 min 30 s measured).
func Full(load Loader) Config {
	return Config{
		BenchTime:      400 * time.Millisecond,
		MicroRounds:    7,
		Load:           load,
		LoadTime:       time.Second,
		LoadRounds:     9,
		Warmup:         time.Second,
		KratosLoadTime: time.Second,
		Collapse:       100,
		CollapseDelay:  100 * time.Millisecond,
		MaxEntries:     10_000,
		Flood:          10,
		UserTime:       30 * time.Second,
	}
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
	}
}

// kratosCookieValue has the shape and length of a real Kratos session
// cookie value (securecookie: base64 of a timestamp, the encoded session
// token and a MAC), for the measurements that do not use a real Kratos.
const kratosCookieValue = "MTc2NDI0NjU3MXxEWDhFQVFMX2dBQUJFQUVRQUFCZl80QUFBUVp6ZEhKcGJtY01CUUFEYzJsa0JuTjBjbWx1Wnd3aUFDQnJWRlJ2VVVnM1JHbDJaazlQUW5WVFlVdGpSbEJZTlRGdk4zbFdURmhxVlE9PXwXb4mwuKYsWRBXJlV1TOsfjrCp4fBWQk3l1R2qhDxQ0A=="

// browserCookies is the Cookie header of a browser that carries the
// session cookie among a few of the app's own cookies.
func browserCookies(sessionCookieName, value string) string {
	return strings.Join([]string{
		"_ga=GA1.1.1439027315.1764246571",
		"theme=dark",
		sessionCookieName + "=" + value,
		"csrf_token_806060ca5bf70dff3caa0e5c860002aade9d470a5a4dce73bcfa7ba10778f481=Y2hhbmdlbWVjaGFuZ2VtZWNoYW5nZW1lMTIzNA==",
		"app_prefs=eyJsYW5nIjoiZW4iLCJ0eiI6IkV1cm9wZS9CZXJsaW4ifQ",
	}, "; ")
}

// browserHeader is the header set a browser sends to a protected page.
func browserHeader(cookie string) http.Header {
	return http.Header{
		"Cookie": {cookie},
		"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
	}
}
