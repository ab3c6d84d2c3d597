package export

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/cloud"
	"ferry/embedded"
	"ferry/generate"
	"ferry/sandbox"
)

// BenchmarkCloudExportRateLimited exports a site through a sandbox that
// serves at most R requests a second (FERRY_BENCH_RATE, default 100).
// Goals (issue 16): at most 1.3 requests per exported page version
// (requests/page-version), at least 90% of R used (rate-use ≥ 0.9), no
// storm of 429s. It reports requests per exported event too, and, with
// FERRY_BENCH_ENDPOINTS=1, the requests per endpoint.
func BenchmarkCloudExportRateLimited(b *testing.B) {
	rate := 100.0
	if s := os.Getenv("FERRY_BENCH_RATE"); s != "" {
		rate, _ = strconv.ParseFloat(s, 64)
	}
	dir := b.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 50, Spaces: 4, Pages: 400, AttachmentBytes: 1 << 20, Seed: 3}); err != nil {
		b.Fatal(err)
	}
	var versions int
	if err := site.DB().QueryRow(`SELECT count(*) FROM content_versions v JOIN content c ON c.id = v.content_id
		WHERE c.type IN ('page', 'blogpost') AND c.deleted_rev IS NULL`).Scan(&versions); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := sandbox.New(site)
		h.RateLimit = rate
		counts := &endpointCounts{n: map[string]int{}}
		srv := httptest.NewServer(counts.wrap(h))
		src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := Run(ctx, src, filepath.Join(dir, "c.ferry"), Options{})
		elapsed := time.Since(start).Seconds()
		srv.Close()
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
		requests, refused := h.Stats()
		b.ReportMetric(float64(requests-refused)/elapsed/rate, "rate-use")
		b.ReportMetric(float64(refused), "429s")
		b.ReportMetric(float64(requests)/float64(versions), "requests/page-version")
		b.ReportMetric(float64(requests)/float64(sum.Events), "requests/event")
		b.ReportMetric(float64(sum.Events)/elapsed, "events/s")
		if os.Getenv("FERRY_BENCH_ENDPOINTS") != "" {
			fmt.Fprintf(os.Stderr, "%d page and blog post versions, %d events, %d requests:\n%s", versions, sum.Events, requests, counts)
		}
	}
	b.ReportMetric(0, "ns/op")
}

// endpointCounts counts requests per endpoint (ids folded).
type endpointCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *endpointCounts) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		for i, p := range parts {
			if strings.ContainsAny(p, "0123456789") {
				parts[i] = "{}"
			}
		}
		ep := r.Method + " " + strings.Join(parts, "/")
		if r.URL.Query().Has("version") {
			ep += "?version"
		}
		c.mu.Lock()
		c.n[ep]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *endpointCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	eps := make([]string, 0, len(c.n))
	for ep := range c.n {
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return c.n[eps[i]] > c.n[eps[j]] })
	var b strings.Builder
	for _, ep := range eps {
		fmt.Fprintf(&b, "%6d %s\n", c.n[ep], ep)
	}
	return b.String()
}
