package cloud

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Rate limits, as Atlassian documents them (developer.atlassian.com/cloud/
// confluence/rate-limiting, JRACLOUD-69262):
//
//   - any call may be answered 429 (and some 503s), with Retry-After in
//     seconds, which can be well over a minute; a retry sent earlier gets
//     the same or a longer wait, so the wait is honoured in full;
//   - X-RateLimit-Reset is an ISO 8601 time at minute precision
//     ("2026-12-01T10:31Z"), the request's time plus Retry-After;
//   - RateLimit-Reason names the limit that was hit;
//   - limits apply per endpoint and method, among other things: a limited
//     endpoint is held back, the others go on.
//
// The client keeps, per endpoint, when its next request may go. Within
// MaxWait it waits (saying so through OnWait); past it, it stops.

// DefaultMaxWait is the longest single wait a client sits through unless
// told otherwise (--max-wait).
const DefaultMaxWait = 30 * time.Minute

// maxBackoff caps the exponential backoff after faults that name no wait.
const maxBackoff = time.Minute

// pacer is one endpoint's pacing: when its next request may go, at what
// interval while the server says few are left, and a hold after a 429.
type pacer struct {
	nextSlot time.Time
	interval time.Duration
	hold     time.Time
}

// endpoint names the rate-limited endpoint a request falls under: its
// method and path under the API base, with ids folded ("GET
// /wiki/api/v2/pages/{}/versions").
func (c *Client) endpoint(method string, u *url.URL) string {
	path := strings.TrimPrefix(u.Path, strings.TrimRight(c.base.Path, "/"))
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.ContainsAny(p, "0123456789") {
			parts[i] = "{}"
		}
	}
	return method + " " + strings.Join(parts, "/")
}

func (c *Client) pacerOf(ep string) *pacer {
	if c.pacers == nil {
		c.pacers = map[string]*pacer{}
	}
	p := c.pacers[ep]
	if p == nil {
		p = &pacer{}
		c.pacers[ep] = p
	}
	return p
}

// waitSlot waits for the request's slot at its endpoint, and then while
// the endpoint is held: a request that took its slot before the server
// said so waits too.
func (c *Client) waitSlot(ctx context.Context, ep string) error {
	c.mu.Lock()
	p := c.pacerOf(ep)
	slot := c.now()
	if p.nextSlot.After(slot) {
		slot = p.nextSlot
	}
	p.nextSlot = slot.Add(p.interval)
	c.mu.Unlock()
	for {
		if d := slot.Sub(c.now()); d > 0 {
			if err := c.Sleep(ctx, d); err != nil {
				return err
			}
		}
		c.mu.Lock()
		hold := p.hold
		c.mu.Unlock()
		if !hold.After(c.now()) {
			return nil
		}
		slot = hold
	}
}

// UseClock makes the client keep time by now and wait with sleep: a
// faster clock, for tests whose server asks for waits of minutes.
func (c *Client) UseClock(now func() time.Time, sleep func(context.Context, time.Duration) error) {
	c.clock, c.Sleep = now, sleep
}

// Now is the client's time, which its waits are measured on.
func (c *Client) Now() time.Time { return c.now() }

// now is the client's clock: the real one, or a test's.
func (c *Client) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

// pace reads the rate limit headers of an answer and, when few requests
// are left in the window, spreads the endpoint's next ones over it.
func (c *Client) pace(ep string, h http.Header) {
	remaining, err := strconv.ParseFloat(h.Get("X-RateLimit-Remaining"), 64)
	reset, ok := parseReset(h.Get("X-RateLimit-Reset"))
	if err != nil || !ok {
		return
	}
	left := reset.Sub(c.now())
	// Requests already on their way will use up some of what is left.
	c.gate.mu.Lock()
	remaining -= float64(c.gate.inFlight)
	c.gate.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pacerOf(ep)
	switch {
	case left <= 0:
		p.nextSlot, p.interval = time.Time{}, 0
	case remaining < 1:
		p.nextSlot, p.interval, p.hold = reset, 0, reset
	default:
		p.interval = min(left/time.Duration(remaining+1), maxBackoff)
	}
}

// parseReset reads X-RateLimit-Reset: ISO 8601, at minute precision as
// Atlassian sends it ("2026-12-01T10:31Z"), or with seconds and a zone.
func parseReset(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// backoff is exponential with full jitter, capped.
func (c *Client) backoff(attempt int) time.Duration {
	d := min(maxBackoff, c.MaxWait, 500*time.Millisecond<<min(attempt, 16))
	return time.Duration(rand.Int64N(int64(max(d, time.Millisecond))) + 1)
}

// limited is what a 429 or 503 costs: the wait Retry-After (seconds or a
// date) or X-RateLimit-Reset names, in full, else a backoff. The endpoint
// is held for as long, so the requests beside this one wait too instead
// of earning longer waits. A wait over MaxWait is an error.
func (c *Client) limited(ep string, resp *http.Response, attempt int) (time.Duration, error) {
	wait, named := retryAfter(resp.Header, c.now())
	if !named {
		return c.backoff(attempt), nil
	}
	reason := "Confluence rate limit"
	if resp.StatusCode == http.StatusServiceUnavailable {
		reason = "Confluence is overloaded (503)"
	}
	if r := resp.Header.Get("RateLimit-Reason"); r != "" {
		reason += " (RateLimit-Reason: " + truncate(r, 80) + ")"
	}
	if wait > c.MaxWait {
		return 0, fmt.Errorf("%s asks to wait %s before retrying, more than --max-wait %s: stopped; run again later (an export or import resumes), or give a longer --max-wait", reason, roundWait(wait), c.MaxWait)
	}
	c.mu.Lock()
	p := c.pacerOf(ep)
	if until := c.now().Add(wait); until.After(p.hold) {
		p.hold = until
	}
	c.waited += wait
	c.mu.Unlock()
	if wait >= time.Second && c.OnWait != nil {
		c.OnWait(wait, reason)
	}
	return wait, nil
}

// retryAfter reads the wait an answer names: Retry-After in seconds or as
// a date, else X-RateLimit-Reset.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
			return time.Duration(min(n, 1e9) * float64(time.Second)), true // 9223372036854775807 has been seen
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(0, t.Sub(now)), true
		}
	}
	if t, ok := parseReset(h.Get("X-RateLimit-Reset")); ok {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// Waited is how long the client has waited for rate limits in all.
func (c *Client) Waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waited
}

// roundWait shows a wait to the second (to the millisecond under one).
func roundWait(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}
