package cloud

import (
	"context"
	"sync"
)

// MaxInFlight is the most requests a client has in flight at once. Cloud
// publishes no limit, so the client starts with one and finds its own.
const MaxInFlight = 8

// gate bounds the requests in flight and adapts the bound to the server,
// as TCP adapts its window: an answer that says the server is overloaded
// (429, 503) halves it, once for all the requests sent at that bound; other
// answers raise it by one per bound's worth, and ten times slower near
// the bound that was last refused, so it probes rather than storms.
type gate struct {
	mu       sync.Mutex
	limit    float64 // requests allowed in flight, 1 to max
	max      float64
	ceiling  float64 // the bound at the last refusal
	epoch    int     // counts the halvings
	inFlight int
	peak     int
	wake     chan struct{} // closed when a request finishes
}

func newGate(max int) *gate {
	return &gate{limit: 1, max: float64(max), ceiling: float64(max) + 1, wake: make(chan struct{})}
}

// acquire waits for room, and returns the epoch to hand to release.
func (g *gate) acquire(ctx context.Context) (int, error) {
	for {
		g.mu.Lock()
		if float64(g.inFlight) < g.limit {
			g.inFlight++
			g.peak = max(g.peak, g.inFlight)
			epoch := g.epoch
			g.mu.Unlock()
			return epoch, nil
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (g *gate) release(epoch int, overloaded bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inFlight--
	switch {
	case overloaded && epoch == g.epoch:
		g.ceiling = g.limit
		g.limit = max(1, g.limit/2)
		g.epoch++
	case overloaded:
		// sent before the last halving: already accounted for
	case g.limit+1 < g.ceiling:
		g.limit = min(g.max, g.limit+1/g.limit)
	default:
		g.limit = min(g.max, g.limit+1/(10*g.limit))
	}
	close(g.wake)
	g.wake = make(chan struct{})
}

// InFlight reports the bound the client has settled on and the most
// requests it had in flight at once.
func (c *Client) InFlight() (limit float64, peak int) {
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	return c.gate.limit, c.gate.peak
}
