package reliability_test

import (
	"sync"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

// TestKratosRestartMidTraffic restarts Kratos (SQLite, sessions kept) while
// requests flow. Without the cache every request asks Kratos: during the gap
// they fail closed (5xx, never a login redirect, never the handler) and once
// Kratos is back they succeed again, with no restart of the app. With the
// cache and StaleIfError, the same gap is bridged by stale entries.
func TestKratosRestartMidTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping test against a real Kratos in -short mode")
	}
	srv := harness.StartKratosT(t, harness.KratosOptions{Persistent: true, LogLevel: "error", Logger: quiet})
	bs, as := sessions(t, srv)
	strict := newApp(t, core.Config{OryURL: srv.PublicURL(), Timeout: time.Second})
	stale := newApp(t, core.Config{OryURL: srv.PublicURL(), Timeout: time.Second,
		Cache: core.CacheConfig{TTL: 200 * time.Millisecond, StaleIfError: time.Minute}})

	type sample struct {
		app *rig.App
		r   rig.Result
	}
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	for i := range 4 {
		a := strict
		if i >= 2 {
			a = stale
		}
		cred, api := cookie(bs), false
		if i%2 == 1 {
			cred, api = token(as), true
		}
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := a.Get(t.Context(), rig.PathRequired, cred, api)
				mu.Lock()
				samples = append(samples, sample{a, r})
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	gapStart := time.Now()
	if err := srv.Restart(t.Context()); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	gapEnd := time.Now()
	time.Sleep(700 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, during, after, failed, staleReqs, staleServed int
	firstOK := time.Duration(-1)
	for _, s := range samples {
		r := s.r
		if r.Err != nil {
			t.Fatalf("request failed: %v", r.Err)
		}
		if s.app == stale {
			staleReqs++
			if r.Status != 200 {
				t.Errorf("stale-if-error app: %s at %s after the gap began", r.Describe(), r.Sent.Sub(gapStart))
			}
			continue
		}
		switch {
		case r.Done.Before(gapStart):
			before++
			if r.Status != 200 {
				t.Errorf("before the restart: %s", r.Describe())
			}
		case r.Sent.After(gapEnd):
			after++
			if r.Status != 200 {
				t.Errorf("after Kratos was ready again (+%s): %s", r.Sent.Sub(gapEnd), r.Describe())
			}
		default:
			during++
		}
		if r.Status != 200 {
			failed++
			if r.Status != 502 && r.Status != 504 || r.Location != "" {
				t.Errorf("did not fail closed with 502/504: %s", r.Describe())
			}
		} else if r.Sent.After(gapStart) && firstOK < 0 && failed > 0 {
			firstOK = r.Sent.Sub(gapStart)
		}
	}
	if allowed := len(samples) - staleReqs - failed; strict.Handled() != int64(allowed) {
		t.Errorf("handler ran %d times for %d allowed requests", strict.Handled(), allowed)
	}
	if failed == 0 {
		t.Errorf("no request failed during a %s restart: the test did not hit the gap", gapEnd.Sub(gapStart))
	}
	if before == 0 || after == 0 {
		t.Errorf("traffic did not span the restart: %d before, %d after", before, after)
	}
	staleServed = stale.Logs.Count("stale")
	if staleServed == 0 {
		t.Error("the stale-if-error app never logged a stale serve during the gap")
	}
	t.Logf("restart gap %s; cache off: %d requests before, %d during (%d failed closed), %d after (all 200), first success %s after the gap began; "+
		"cache+StaleIfError: %d requests, all 200, %d stale serves logged",
		gapEnd.Sub(gapStart).Round(time.Millisecond), before, during, failed, after, firstOK.Round(time.Millisecond),
		staleReqs, staleServed)
}
