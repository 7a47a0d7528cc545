package core

import (
	"context"
	"time"
)

// recheck asks Ory once more, bypassing the cache, about a cached session
// that fails the route's policy. The user may have just stepped up (aal2)
// or re-authenticated in Ory, which the cached copy cannot know: without
// asking, a token client would be refused until the entry expires. Ory's
// answer replaces the cached one (and is cached in turn); when Ory cannot
// answer (failing, rate-limited, the guard saturated), the cached session
// decides, and so the policy denies it. The question carries
// Cache-Control: max-age=0 (reask), so that an edge cache answers fresh.
func (g *Guard) recheck(ctx context.Context, c *credential, cached result, at time.Time) result {
	fwd, ok := c.forward()
	if !ok || g.backoff.Wait(at.UnixNano()) > 0 {
		return cached
	}
	res := g.collapse(reask(g.skipShared(ctx)), g.key(c), &fwd)
	if reasons[res.kind].oryAnswered {
		return res
	}
	return cached
}
