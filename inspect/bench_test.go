package inspect

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkInspectVsReadJSON times opening an archive and answering a
// reviewer's questions (the summary; counts by kind and scope; top spaces
// by size) against DuckDB's read_json over the same events as zstd NDJSON,
// alternately in one run. The goal is a ratio (read_json time / inspect
// time) of at least 10 on archives of a million events or more
// (FERRY_BENCH_PAGES, default 3000 pages, about 25,000 events).
func BenchmarkInspectVsReadJSON(b *testing.B) {
	pages := 3000
	if s := os.Getenv("FERRY_BENCH_PAGES"); s != "" {
		pages, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := generate.Site(ctx, site, generate.Options{Users: pages/20 + 20, Spaces: pages/500 + 4, Pages: pages, AttachmentBytes: int64(pages) * 2000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "s.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: site}, path, export.Options{}); err != nil {
		b.Fatal(err)
	}
	site.Close()
	ndjson := filepath.Join(dir, "events.ndjson.zst")
	events := writeNDJSON(b, path, ndjson)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	queries := []string{
		`SELECT entity, count(*) FROM events GROUP BY 1`,
		`SELECT space, sum(length(CAST(payload AS VARCHAR))) AS bytes FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
	}
	var tJSON, tFerry time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, q := range append(queries, `SELECT type, count(*) FROM events GROUP BY 1`) {
			q = "WITH events AS (SELECT * FROM read_json('" + ndjson + "', format = 'newline_delimited')) " + q
			drain(b, db, q)
		}
		tJSON += time.Since(start)
		start = time.Now()
		in, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := in.Summarize(ctx); err != nil {
			b.Fatal(err)
		}
		for _, q := range append(queries, `SELECT entity, copied, count(*) FROM scope GROUP BY ALL`) {
			drain(b, in.db, q)
		}
		in.Close()
		tFerry += time.Since(start)
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(tJSON.Seconds()/float64(b.N), "read_json-s")
	b.ReportMetric(tFerry.Seconds()/float64(b.N), "inspect-s")
	b.ReportMetric(tJSON.Seconds()/tFerry.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}

func drain(b *testing.B, db *sql.DB, q string) {
	rows, err := db.Query(q)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
}

// writeNDJSON writes an archive's events as zstd-compressed NDJSON.
func writeNDJSON(b *testing.B, path, out string) int64 {
	f, err := archive.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	zw, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	enc := json.NewEncoder(zw)
	it := f.Events()
	defer it.Close()
	var n int64
	for it.Next() {
		ev := it.Event()
		enc.Encode(map[string]any{"seq": ev.Seq, "type": ev.Type, "entity": ev.Entity, "id": ev.ID, "parent": ev.Parent,
			"space": ev.Space, "at": ev.At, "actor": ev.Actor, "payload": json.RawMessage(ev.Payload)})
		n++
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return n
}
