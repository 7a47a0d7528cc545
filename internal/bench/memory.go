package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// memMaxGrowth bounds the heap after the flood relative to the heap with
// the cache full.
const memMaxGrowth = 1.10

// heap returns the live heap after two collections.
func heap() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// credential is the i-th distinct session token of the memory measurement.
func credential(i int) string { return "ory_st_bench" + strconv.Itoa(1_000_000_000+i) }

// each calls fn for 0..n-1 on a few goroutines and counts the true answers.
func each(ctx context.Context, n int, fn func(i int) bool) int {
	var next, yes atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if fn(i) {
					yes.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(yes.Load())
}

// Memory runs section 5: it fills a cache bounded to cfg.MaxEntries with as
// many distinct credentials (a fake Ory that accepts every credential),
// then sends cfg.Flood times more distinct credentials, and reports the
// live heap at both points and how many sessions the cache holds at the
// end. The cache's size is read from the outside: with Ory down, a cached
// credential is still let through and any other is not.
func Memory(ctx context.Context, cfg Config) []Row {
	const sec = "5 memory"
	n := cfg.MaxEntries
	total := n * (1 + cfg.Flood)
	figure := fmt.Sprintf("live heap, cache bound %d entries: full, then after %dx more distinct credentials", n, cfg.Flood)
	ory := orytest.NewServer()
	defer ory.Close()
	sess, err := json.Marshal(orytest.ActiveSession("s1", "a@example.com"))
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	ory.ReplyAll(&orytest.Reply{Body: sess})
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet,
		Cache: core.CacheConfig{TTL: time.Hour, MaxEntries: n}, MaxConcurrentLookups: -1})
	if err != nil {
		return []Row{failed(sec, figure, err)}
	}
	rt := g.Route()
	auth := func(i int) bool {
		req := core.Request{Method: http.MethodGet, URI: "/", SessionToken: credential(i)}
		return rt.Authenticate(ctx, &req).Allow
	}
	// Warm the client's connections and the runtime before the baseline.
	if !auth(-1) {
		return []Row{failed(sec, figure, fmt.Errorf("the fake Ory denied a credential"))}
	}
	ory.Reset()
	empty := heap()

	cfg.logf("memory: filling the cache with %d credentials", n)
	if ok := each(ctx, n, auth); ok != n {
		return []Row{failed(sec, figure, fmt.Errorf("%d of %d credentials were denied while filling", n-ok, n))}
	}
	ory.Reset() // the fake records every request; forget them before measuring
	full := heap()

	cfg.logf("memory: sending %d more distinct credentials", total-n)
	if ok := each(ctx, total-n, func(i int) bool { return auth(n + i) }); ok != total-n {
		return []Row{failed(sec, figure, fmt.Errorf("%d of %d credentials were denied in the flood", total-n-ok, total-n))}
	}
	ory.Reset()
	flooded := heap()

	cfg.logf("memory: counting cached sessions among %d credentials with Ory down", total)
	ory.Close()
	cached := each(ctx, total, auth)
	if ctx.Err() != nil {
		return []Row{failed(sec, figure, ctx.Err())}
	}
	perEntry := (full - empty) / float64(n)
	return []Row{
		{sec, figure,
			fmt.Sprintf("%s -> %s (x%.2f); %s empty, %.1f KiB per cached session", mib(full), mib(flooded), flooded/full, mib(empty), perEntry/1024),
			fmt.Sprintf("after <= %.2f x full", memMaxGrowth), check(flooded <= memMaxGrowth*full)},
		{sec, fmt.Sprintf("sessions in the cache after %d distinct credentials", total),
			fmt.Sprintf("%d", cached), fmt.Sprintf("<= %d", n), check(cached <= n && cached > 0)},
	}
}
