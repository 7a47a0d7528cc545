package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// guardedApp serves pathOpen (the handler alone) and pathProtected (behind
// the net/http middleware with g) on 127.0.0.1.
func guardedApp(g *core.Guard) (*app, error) {
	served := newCounters(pathOpen, pathProtected)
	mux := http.NewServeMux()
	mux.Handle("GET "+pathOpen, netHTTPHandler(served[pathOpen]))
	mux.Handle("GET "+pathProtected, oryhttp.Middleware(g)(netHTTPHandler(served[pathProtected])))
	return serveHTTP(mux, served)
}

// burst opens n connections to the app (concurrent requests to pathOpen),
// then sends n requests with header to pathProtected at the same instant,
// one per connection, and returns how many were let through (200).
func burst(ctx context.Context, a *app, header http.Header, n int) (int, error) {
	tr := &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fire := func(path string, start <-chan struct{}) (int, error) {
		var wg sync.WaitGroup
		var ok atomic.Int64
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				<-start
				status, err := get(ctx, hc, a.URL+path, header)
				if err != nil {
					errs <- err
					return
				}
				if status == http.StatusOK {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return 0, err
		}
		return int(ok.Load()), nil
	}
	open := make(chan struct{})
	close(open)
	if _, err := fire(pathOpen, open); err != nil { // warm the connections
		return 0, err
	}
	start := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(start) }) // every goroutine is waiting by then
	return fire(pathProtected, start)
}

// CollapseFake runs section 4 on the fake Ory: n concurrent cold requests
// with one credential, with the cache off so that only collapsing can
// save calls, and whoami held back 100 ms so that all of them arrive while
// the first is in flight.
func CollapseFake(ctx context.Context, cfg Config) Row {
	const sec = "4 collapsing"
	figure := fmt.Sprintf("%d concurrent cold requests, one cookie, fake whoami (answers after %v), cache off: whoami calls", cfg.Collapse, cfg.CollapseDelay)
	ory := orytest.NewServer()
	defer ory.Close()
	sess, err := json.Marshal(orytest.ActiveSession("s1", "a@example.com"))
	if err != nil {
		return failed(sec, figure, err)
	}
	ory.Reply(kratosCookieValue, orytest.Reply{Body: sess, Delay: cfg.CollapseDelay})
	g, err := core.New(core.Config{OryURL: ory.URL, Logger: quiet})
	if err != nil {
		return failed(sec, figure, err)
	}
	a, err := guardedApp(g)
	if err != nil {
		return failed(sec, figure, err)
	}
	defer func() { _ = a.Close() }()
	cfg.logf("collapsing: %d concurrent cold requests on the fake", cfg.Collapse)
	allowed, err := burst(ctx, a, browserHeader(browserCookies("ory_kratos_session", kratosCookieValue)), cfg.Collapse)
	if err != nil {
		return failed(sec, figure, err)
	}
	calls := ory.Calls()
	return Row{sec, figure, fmt.Sprintf("%d (%d of %d requests allowed)", calls, allowed, cfg.Collapse), "exactly 1",
		check(calls == 1 && allowed == cfg.Collapse)}
}

// countingProxy is a reverse proxy on 127.0.0.1 that counts the whoami
// calls that pass through it.
type countingProxy struct {
	*app
	whoami atomic.Int64
}

func startCountingProxy(upstream string) (*countingProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	p := &countingProxy{}
	p.app, err = serveHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sessions/whoami" {
			p.whoami.Add(1)
		}
		rp.ServeHTTP(w, r)
	}), nil)
	if err != nil {
		return nil, err
	}
	return p, nil
}
