package export

import (
	"os"
	"path/filepath"
	"testing"

	"ferry/embedded"
	"ferry/generate"
)

// BenchmarkExportEmbedded exports the embedded site at FERRY_BENCH_SITE
// (make bench's sites: ferry generate --pages 40000 ...), or a generated
// 4,000-page one, for profiles of where export's time goes:
//
//	go test ./export -run '^$' -bench ExportEmbedded -benchtime 1x -cpuprofile cpu.out
func BenchmarkExportEmbedded(b *testing.B) {
	path := os.Getenv("FERRY_BENCH_SITE")
	if path == "" {
		path = filepath.Join(b.TempDir(), "site.db")
		site, err := embedded.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		err = generate.Site(ctx, site, generate.Options{Users: 220, Spaces: 12, Pages: 4000, AttachmentBytes: 4000 * 5250, Seed: 1})
		site.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	site, err := embedded.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer site.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "site.ferry")
		s, err := Run(ctx, &EmbeddedSource{Site: site}, out, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.Events)/b.Elapsed().Seconds()*float64(i+1), "events/s")
	}
}
