package core

import (
	"sync/atomic"
	"time"
)

// BackoffProbesPerSecond is how many whoami lookups the guard lets through
// per second while it honours a 429 from Ory (Retry-After, at most a
// minute): every other lookup meanwhile is answered 429 without asking
// Ory, and cached sessions are served as usual. The first probe that Ory
// answers with anything but 429 (a session, 401, 403) ends the backoff for
// everyone; one answered 429 renews it with its own Retry-After.
//
// A 429 says nothing about the client that received it (Ory counts whoami
// per project, and anyone can call Ory's public whoami), so one burst of
// junk credentials must not lock every user out for the whole Retry-After:
// with probes, users whose sessions Ory would answer get through again
// within about a second of Ory answering again, while the guard adds no
// more than this trickle to Ory's load. Put a per-client rate limiter in
// front of the guard so that one client cannot spend the project's whoami
// budget in the first place (see README).
const BackoffProbesPerSecond = 2

// backoff is the guard's state after a 429 from Ory. The zero value is not
// backing off. Lookups read it without locks.
type backoff struct {
	until atomic.Int64 // unix ns until which Ory asked us to wait; 0 when not backing off
	since atomic.Int64 // unix ns when the current backoff began
	probe atomic.Int64 // unix ns from which the next probe may go to Ory
}

const probeInterval = int64(time.Second / BackoffProbesPerSecond)

// wait reports how many seconds (rounded up) a lookup at now must still
// wait, or 0 when it may ask Ory: no backoff, or it is this interval's probe.
func (b *backoff) wait(now int64) int {
	until := b.until.Load()
	if now >= until {
		return 0
	}
	if p := b.probe.Load(); now >= p && b.probe.CompareAndSwap(p, now+probeInterval) {
		return 0
	}
	return int((until - now + int64(time.Second) - 1) / int64(time.Second))
}

// observe updates the backoff with Ory's answer to a question sent at sent
// (unix ns) and received at now: a 429 starts or renews it for Retry-After
// seconds; any other answer Ory gave (not a failure) to a question sent
// since the backoff began ends it.
func (b *backoff) observe(kind reason, retryAfter int, sent, now int64) {
	switch kind {
	case reasonRateLimited:
		if b.until.Load() <= now {
			b.since.Store(now)
		}
		b.probe.Store(now + probeInterval)
		b.until.Store(now + int64(retryAfter)*int64(time.Second))
	default:
		if until := b.until.Load(); reasons[kind].oryAnswered && until > now && sent >= b.since.Load() {
			b.until.CompareAndSwap(until, 0)
		}
	}
}

// maxBackoff caps how long the guard honours a Retry-After from Ory.
const maxBackoff = time.Minute
