package export

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
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
		srv := httptest.NewServer(h)
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
			fmt.Fprintf(os.Stderr, "%d page and blog post versions, %d events, %d requests:\n%s", versions, sum.Events, requests, h.EndpointReport())
		}
	}
	b.ReportMetric(0, "ns/op")
}
