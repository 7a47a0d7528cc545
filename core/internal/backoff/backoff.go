// Package backoff is the guard's state after Ory answers 429: until the
// Retry-After has passed, lookups are answered without asking Ory, except
// a trickle of probes, and the first probe Ory answers ends it for
// everyone.
package backoff

import (
	"sync/atomic"
	"time"
)

// Max caps how long a Retry-After is honoured.
const Max = time.Minute

// Backoff is the state after a 429 from Ory. The zero value is not backing
// off; set Interval before use. Lookups read it without locks. Times are
// unix nanoseconds.
type Backoff struct {
	// Interval is the time between two probes while backing off.
	Interval time.Duration

	until atomic.Int64 // until when Ory asked us to wait; 0 when not backing off
	since atomic.Int64 // when the current backoff began
	probe atomic.Int64 // from when the next probe may go to Ory
}

// Wait reports how many seconds (rounded up) a lookup at now must still
// wait, or 0 when it may ask Ory: no backoff, or it is this interval's
// probe.
func (b *Backoff) Wait(now int64) int {
	until := b.until.Load()
	if now >= until {
		return 0
	}
	if p := b.probe.Load(); now >= p && b.probe.CompareAndSwap(p, now+int64(b.Interval)) {
		return 0
	}
	return int((until - now + int64(time.Second) - 1) / int64(time.Second))
}

// Limited starts or renews the backoff for retryAfter seconds after a 429
// received at now.
func (b *Backoff) Limited(retryAfter int, now int64) {
	if b.until.Load() <= now {
		b.since.Store(now)
	}
	b.probe.Store(now + int64(b.Interval))
	b.until.Store(now + int64(retryAfter)*int64(time.Second))
}

// Answered records that Ory answered (not a failure, not a 429) a question
// sent at sent and received at now: an answer to a question sent since the
// backoff began ends it. An answer to an older question says nothing about
// Ory since the 429.
func (b *Backoff) Answered(sent, now int64) {
	if until := b.until.Load(); until > now && sent >= b.since.Load() {
		b.until.CompareAndSwap(until, 0)
	}
}

// Active reports whether the backoff lasts beyond now.
func (b *Backoff) Active(now int64) bool { return b.until.Load() > now }
