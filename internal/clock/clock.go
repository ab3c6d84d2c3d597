// Package clock runs time faster for tests: a sandbox that asks for waits
// of minutes, as Confluence Cloud does, and a client that honours them in
// full can agree on a clock where those minutes pass in milliseconds.
package clock

import (
	"context"
	"time"
)

// Clock is a clock that runs 1/Scale times as fast as the real one:
// Scale is how many real seconds a second of it takes. 0 or 1 is real
// time. Clocks of one Scale in one process agree: they start together, at
// the process's start (a far epoch would overflow a fast clock).
type Clock struct{ Scale float64 }

var epoch = time.Now()

func (c Clock) scaled() bool { return c.Scale > 0 && c.Scale != 1 }

// Now is the clock's time.
func (c Clock) Now() time.Time {
	if !c.scaled() {
		return time.Now()
	}
	return epoch.Add(time.Duration(float64(time.Since(epoch)) / c.Scale))
}

// Real is how long d of this clock's time takes in real time.
func (c Clock) Real(d time.Duration) time.Duration {
	if !c.scaled() {
		return d
	}
	return time.Duration(float64(d) * c.Scale)
}

// Sleep waits d of this clock's time, or until ctx is done.
func (c Clock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(c.Real(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
