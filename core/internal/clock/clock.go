// Package clock tells the wall time with one clock read instead of
// time.Now's two.
package clock

import (
	"sync/atomic"
	"time"
)

// Resync bounds how long a Clock goes without reading the wall clock.
const Resync = 100 * time.Millisecond

// Clock reads the time with one clock read instead of time.Now's two.
//
// time.Now reads the wall clock and the monotonic clock: two vDSO calls on
// every request. A guard compares the time with cached deadlines and
// Ory's expires_at, so it needs wall time; it takes it as a base wall time
// plus the monotonic time elapsed since (time.Since reads only the
// monotonic clock when the base has a reading). The base is
// read again at least every Resync, so a step of the system clock
// (NTP, an operator) reaches the Clock within that; between steps the two
// clocks run at the same rate (NTP slews both).
type Clock struct {
	base atomic.Pointer[time.Time]
}

// New returns a Clock whose base is the time now.
func New() *Clock {
	c := &Clock{}
	t := time.Now()
	c.base.Store(&t)
	return c
}

// Now is the current time, like time.Now.
func (c *Clock) Now() time.Time {
	b := c.base.Load()
	d := time.Since(*b)
	if d < 0 || d >= Resync {
		t := time.Now()
		c.base.Store(&t)
		return t
	}
	return b.Add(d)
}
