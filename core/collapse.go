package core

import (
	"context"
)

// flight is one whoami call that concurrent requests with the same
// credential share.
type flight struct {
	done      chan struct{} // closed when res is set
	res       result
	discarded bool // set by forget (under flightsMu): the answer is not cached
	refresh   bool // a refresh ahead (cache_refresh.go), not a request's lookup
}

// collapse shares one whoami call between concurrent callers with the same
// credential. The first caller (the leader) makes the call on its own
// goroutine, bounded by the timeout and by its own context: handing the
// call to another goroutine costs a scheduler round trip on every miss. Others
// wait for its answer or for their own context to end. When the leader's
// context ends before Ory answers, the leader returns at once and a waiter
// asks again, so nobody gets an error because someone else gave up.
func (g *Guard) collapse(ctx context.Context, key sessionKey, c *credential) result {
	for {
		g.flightsMu.Lock()
		f, ok := g.flights[key]
		if !ok {
			f = &flight{done: make(chan struct{})}
			g.flights[key] = f
			g.flightsMu.Unlock()
			return g.lead(ctx, key, c, f)
		}
		g.flightsMu.Unlock()
		select {
		case <-f.done:
			if f.res.kind == reasonCanceled && ctx.Err() == nil {
				continue // the leader left before Ory answered: ask again
			}
			return f.res
		case <-ctx.Done():
			return result{kind: reasonCanceled}
		}
	}
}

// lead makes the shared call and hands its result to the waiters.
func (g *Guard) lead(ctx context.Context, key sessionKey, c *credential, f *flight) result {
	defer g.land(key, f)
	f.res = g.fetch(ctx, key, c, f)
	return f.res
}

// land ends flight f, whose result is set: later requests no longer join
// it, and its waiters get the result.
func (g *Guard) land(key sessionKey, f *flight) {
	g.flightsMu.Lock()
	if g.flights[key] == f { // forget may have replaced it
		delete(g.flights, key)
	}
	g.flightsMu.Unlock()
	close(f.done)
}
