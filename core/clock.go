package core

import (
	"sync/atomic"
	"time"
)

// clockResync bounds how long the guard's clock goes without reading the
// wall clock.
const clockResync = 100 * time.Millisecond

// clock reads the time with one clock read instead of time.Now's two.
//
// time.Now reads the wall clock and the monotonic clock: two vDSO calls on
// every request. The guard compares the time with cached deadlines and
// Ory's expires_at, so it needs wall time; it takes it as a base wall time
// plus the monotonic time elapsed since (time.Since reads only the
// monotonic clock when the base has a reading). The base is
// read again at least every clockResync, so a step of the system clock
// (NTP, an operator) reaches the guard within that; between steps the two
// clocks run at the same rate (NTP slews both).
type clock struct {
	base atomic.Pointer[time.Time]
}

func newClock() *clock {
	c := &clock{}
	t := time.Now()
	c.base.Store(&t)
	return c
}

// now is the current time, like time.Now.
func (c *clock) now() time.Time {
	b := c.base.Load()
	d := time.Since(*b)
	if d < 0 || d >= clockResync {
		t := time.Now()
		c.base.Store(&t)
		return t
	}
	return b.Add(d)
}
