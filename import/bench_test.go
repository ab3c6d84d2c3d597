package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/model"
)

// BenchmarkImportVsRawInserts times ferry's import of an archive against
// inserting the same rows raw (source ids kept, no matching, no map, no
// checkpoints) in batched SQLite transactions, alternately in one run. The
// goal is a ratio (raw time / import time) of at least 0.3.
// FERRY_BENCH_PAGES sets the site's size (default 3000 pages).
func BenchmarkImportVsRawInserts(b *testing.B) {
	pages := 3000
	if s := os.Getenv("FERRY_BENCH_PAGES"); s != "" {
		pages, _ = strconv.Atoi(s)
	}
	fx := newFixture(b, 1, pages)
	f, err := archive.Open(fx.archive)
	if err != nil {
		b.Fatal(err)
	}
	events := f.Manifest().Events.Count
	f.Close()
	var tRaw, tImport time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		rawInsert(b, fx.archive, filepath.Join(dir, "raw.db"))
		tRaw += time.Since(start)
		dest, err := embedded.Create(filepath.Join(dir, "import.db"))
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if _, err := Run(ctx, fx.archive, &EmbeddedDestination{Site: dest}, Options{AllowMissingApps: true}); err != nil {
			b.Fatal(err)
		}
		tImport += time.Since(start)
		dest.Close()
	}
	n := float64(events) * float64(b.N)
	b.ReportMetric(n/tRaw.Seconds(), "raw-events/s")
	b.ReportMetric(n/tImport.Seconds(), "import-events/s")
	b.ReportMetric(tRaw.Seconds()/tImport.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkRawInserts times only the baseline: the rows of
// FERRY_BENCH_ARCHIVE (or of a generated site) inserted raw, for make
// bench, which times ferry import of the same archive itself.
func BenchmarkRawInserts(b *testing.B) {
	path := os.Getenv("FERRY_BENCH_ARCHIVE")
	if path == "" {
		path = newFixture(b, 1, 3000).archive
	}
	var t time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rawInsert(b, path, filepath.Join(b.TempDir(), "raw.db"))
		t += time.Since(start)
	}
	b.ReportMetric(t.Seconds()/float64(b.N), "raw-s")
	b.ReportMetric(0, "ns/op")
}

// rawInsert writes an archive's rows into a new site as they are.
func rawInsert(b *testing.B, path, out string) {
	site, err := embedded.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer site.Close()
	f, err := archive.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	it := f.Events()
	defer it.Close()
	for more := true; more; {
		err := site.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
			for n := 0; n < 2000; n++ {
				if !it.Next() {
					more = false
					return it.Err()
				}
				ev := it.Event()
				p, err := model.Decode(model.EventType(ev.Type), ev.Payload)
				if err != nil {
					return err
				}
				if err := rawApply(tx, f, p); err != nil {
					return fmt.Errorf("seq %d %s: %w", ev.Seq, ev.Type, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func rawApply(tx *embedded.Tx, f *archive.File, payload any) error {
	switch p := payload.(type) {
	case *model.User:
		return tx.PutUser(*p)
	case *model.Group:
		return tx.CreateGroup(*p)
	case *model.Membership:
		return tx.AddMembership(*p)
	case *model.Space:
		p.Homepage, p.Logo = "", ""
		return tx.CreateSpace(*p)
	case *model.SpacePermission:
		return tx.GrantPermission(*p)
	case *model.Content:
		return tx.CreateContent(*p)
	case *model.Version:
		if err := tx.AddVersion(*p); err != nil {
			return tx.AddCommentVersion(*p)
		}
		return nil
	case *model.Comment:
		return tx.CreateComment(*p)
	case *model.Attachment:
		return tx.CreateAttachment(*p)
	case *model.AttachmentVersion:
		if ok, _ := tx.HasBlob(p.Blob); !ok {
			r, err := f.OpenBlob(p.Blob)
			if err != nil {
				return err
			}
			_, err = tx.PutBlobAs(p.Blob, r)
			r.Close()
			if err != nil {
				return err
			}
		}
		return tx.AddAttachmentVersion(*p)
	case *model.Label:
		return tx.AddLabel(*p)
	case *model.Restriction:
		return tx.AddRestriction(*p)
	case *model.Property:
		return tx.SetProperty(*p)
	case *model.Like:
		return tx.AddLike(*p)
	}
	return nil // apps and app data: not copied
}
