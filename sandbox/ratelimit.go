package sandbox

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rate limits, as Confluence Cloud answers them (developer.atlassian.com/
// cloud/confluence/rate-limiting; JRACLOUD-69262 quotes the headers):
// limits apply per site and per endpoint and method; a 429 carries
// Retry-After in seconds, X-RateLimit-Reset at minute precision
// ("2026-12-01T10:31Z", the request's time plus Retry-After) and
// RateLimit-Reason; a retry sent before the wait is over gets the same
// wait again (the stricter reading of "the same or longer"). Every answer
// carries X-RateLimit-Limit and X-RateLimit-Remaining, and NearLimit when
// little is left.

// window counts one limit's requests in the current second.
type window struct {
	start   time.Time
	n       float64
	penalty time.Time // no request before it: a 429 asked to wait until then
}

// limit admits a request or answers it 429; false when it answered.
func (s *Server) limit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.served++
	if s.byEndpoint == nil {
		s.byEndpoint = map[string]int{}
	}
	s.byEndpoint[endpointOf(r)]++
	now := s.Clock.Now()
	var (
		wait      time.Duration
		limit     = math.Inf(1)
		remaining = math.Inf(1)
		reason    string
	)
	for _, l := range []struct {
		key, reason string
		rate        float64
	}{{"site", "confluence-burst-based", s.RateLimit}, {endpointOf(r), "confluence-endpoint-based", s.EndpointLimit}} {
		if l.rate <= 0 {
			continue
		}
		win := s.window(l.key)
		span := s.rateWindow()
		allowed := l.rate * span.Seconds()
		if now.Sub(win.start) >= span {
			win.start, win.n = now, 0
		}
		switch {
		case now.Before(win.penalty) && s.RetryAfter > 0:
			wait, reason = s.RetryAfter, l.reason
			win.penalty = now.Add(s.RetryAfter)
			s.early++
		case win.n >= allowed:
			wait, reason = max(win.start.Add(span).Sub(now), time.Millisecond), l.reason
			if s.RetryAfter > 0 {
				wait = s.RetryAfter
				win.penalty = now.Add(wait)
				s.penalties++
			}
		}
		limit, remaining = min(limit, allowed), min(remaining, max(0, allowed-win.n-1))
	}
	if wait == 0 {
		for _, key := range []string{"site", endpointOf(r)} {
			if win := s.windows[key]; win != nil {
				win.n++
			}
		}
	} else {
		s.refused++
	}
	s.mu.Unlock()
	if !math.IsInf(limit, 1) && !s.Unannounced {
		w.Header().Set("X-RateLimit-Limit", strconv.FormatFloat(limit, 'f', 0, 64))
		w.Header().Set("X-RateLimit-Remaining", strconv.FormatFloat(max(remaining, 0), 'f', 0, 64))
		if remaining < limit/5 {
			w.Header().Set("X-RateLimit-NearLimit", "true")
		}
	}
	if wait == 0 {
		return true
	}
	seconds := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	reset := now.Add(time.Duration(seconds) * time.Second)
	if reset.Truncate(time.Minute) != reset {
		reset = reset.Truncate(time.Minute).Add(time.Minute) // minute precision, not early
	}
	w.Header().Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04Z"))
	w.Header().Set("RateLimit-Reason", reason)
	writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", fmt.Sprintf("Rate limit exceeded (%s)", reason))
	return false
}

func (s *Server) window(key string) *window {
	if s.windows == nil {
		s.windows = map[string]*window{}
	}
	win := s.windows[key]
	if win == nil {
		win = &window{}
		s.windows[key] = win
	}
	return win
}

// endpointOf names a request's endpoint: its method and path, with the
// segments that hold ids folded.
func endpointOf(r *http.Request) string {
	parts := strings.Split(r.URL.Path, "/")
	for i, p := range parts {
		if strings.ContainsAny(p, "0123456789") {
			parts[i] = "{}"
		}
	}
	return r.Method + " " + strings.Join(parts, "/")
}

// Waits says how many 429s asked for a RetryAfter wait, and how many
// requests came while one was still running (each earned it again): a
// client that honours waits sends few of those, only what was already on
// its way.
func (s *Server) Waits() (asked, early int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.penalties, s.early
}

// rateWindow is the span rate limits count requests over: RateWindow, or
// a second.
func (s *Server) rateWindow() time.Duration {
	if s.RateWindow > 0 {
		return s.RateWindow
	}
	return time.Second
}

// EndpointReport lists the requests served per endpoint (ids folded),
// the busiest first: where a client's requests go.
func (s *Server) EndpointReport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := make([]string, 0, len(s.byEndpoint))
	for ep := range s.byEndpoint {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool {
		if s.byEndpoint[eps[i]] != s.byEndpoint[eps[j]] {
			return s.byEndpoint[eps[i]] > s.byEndpoint[eps[j]]
		}
		return eps[i] < eps[j]
	})
	var b strings.Builder
	for _, ep := range eps {
		fmt.Fprintf(&b, "%6d %s\n", s.byEndpoint[ep], ep)
	}
	return b.String()
}
