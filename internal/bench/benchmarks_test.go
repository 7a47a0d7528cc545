package bench

import "testing"

// The benchmarks of section 1 as Benchmark functions, for go test -bench
// and benchstat:
//
//	go test -run '^$' -bench . -count 10 . > new.txt
//	benchstat old.txt new.txt
//
// bench -baseline <rev> does this for BenchmarkHit against an older
// revision in one run.

// asBenchmark runs f as a benchmark; its error fails it.
func asBenchmark(f benchFunc) func(b *testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		if err := f(b); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHit is the in-process hit path: core's Authenticate with a
// real-size Kratos cookie, each adapter's guarded route next to the same
// route without the guard ("-open"), and each RPC interceptor's guarded
// unary call next to the unguarded method.
func BenchmarkHit(b *testing.B) {
	for _, c := range HitCases() {
		b.Run(c.Name, asBenchmark(c.F))
	}
}

// BenchmarkCore is core's hit path by cookie and by token, the uncached
// path (cache off) and a bare client-go ToSession call against the same
// fake whoami.
func BenchmarkCore(b *testing.B) {
	b.Run("hit-cookie", asBenchmark(hitBench(hitCookieRequest(), kratosCookieValue)))
	b.Run("hit-token", asBenchmark(hitBench(hitTokenRequest(), benchToken)))
	b.Run("miss", asBenchmark(missBench))
	b.Run("bare-tosession", asBenchmark(bareBench))
}

// BenchmarkTelemetry is the cache-hit path with oryotel attached to the
// OpenTelemetry SDK and without an observer.
func BenchmarkTelemetry(b *testing.B) {
	b.Run("cookie/oryotel", asBenchmark(observedHitBench(hitCookieRequest(), kratosCookieValue, true)))
	b.Run("cookie/none", asBenchmark(observedHitBench(hitCookieRequest(), kratosCookieValue, false)))
	b.Run("token/oryotel", asBenchmark(observedHitBench(hitTokenRequest(), benchToken, true)))
	b.Run("token/none", asBenchmark(observedHitBench(hitTokenRequest(), benchToken, false)))
}
