package inspect

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"
	importer "ferry/import"
)

var ctx = context.Background()

func generated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 50, Spaces: 4, Pages: 200, AttachmentBytes: 1 << 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "s.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: site}, out, export.Options{}); err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, in *Inspector, q string) int64 {
	t.Helper()
	rows, err := in.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	rows.Next()
	rows.Scan(&n)
	return n
}

// The summary names the ten largest attachments and every one over Cloud's
// upload limit, largest first, whichever list an attachment is in.
func TestSummaryNamesAttachmentsOverTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.ferry")
	sizes := map[int]int64{3: cloudUploadLimit + 1, 7: 3 << 30} // every version of the 3rd and 7th attachments
	nth := map[string]int{}
	rewriteWithoutColumns(t, generated(t), path, func(e *archive.Event) {
		if e.Type != "attachment.version" {
			return
		}
		if nth[e.ID] == 0 {
			nth[e.ID] = len(nth) + 1
		}
		if size, ok := sizes[nth[e.ID]]; ok {
			var p map[string]any
			json.Unmarshal(e.Payload, &p)
			p["size"] = size
			e.Payload, _ = json.Marshal(p)
		}
	})
	in, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, in, `SELECT count(*) FROM attachments WHERE size > 0`); n <= 10 {
		t.Fatalf("only %d attachments: the test needs more than ten", n)
	}
	s := summaryOf(t, in)
	if len(s.OverLimit) != 2 || s.OverLimit[0].Size != 3<<30 || s.OverLimit[1].Size != cloudUploadLimit+1 {
		t.Fatalf("over the limit: %+v", s.OverLimit)
	}
	if len(s.Largest) != 10 || s.Largest[0] != s.OverLimit[0] || s.Largest[1] != s.OverLimit[1] || s.Largest[2].Size > s.Largest[1].Size {
		t.Fatalf("largest: %+v", s.Largest)
	}
}

func TestViewsAndSummary(t *testing.T) {
	in, err := Open(ctx, generated(t))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	s, err := in.Summarize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != in.Manifest.Events.Count || s.Personal.Users != 50 || s.Personal.WithEmail == 0 || len(s.Apps) != 3 {
		t.Fatalf("summary %+v", s)
	}
	notCopied := int64(0)
	for _, l := range s.NotCopied {
		if l.Copy == "no" {
			notCopied += l.Events
		}
	}
	if notCopied != s.ByKind["app"]+s.ByKind["app_data"] || s.Copied+notCopied > s.Events {
		t.Errorf("not copied %d, app events %d, copied %d of %d", notCopied, s.ByKind["app"]+s.ByKind["app_data"], s.Copied, s.Events)
	}
	if len(s.Largest) == 0 || s.Largest[0].Size < s.Largest[len(s.Largest)-1].Size {
		t.Errorf("largest attachments %+v", s.Largest)
	}
	if n := count(t, in, `SELECT count(*) FROM pages`); n != 200 {
		t.Errorf("pages view has %d rows, want 200", n)
	}
	if n := count(t, in, `SELECT count(*) FROM spaces`); n != 4 {
		t.Errorf("spaces view has %d rows", n)
	}
	if n := count(t, in, `SELECT count(DISTINCT page_id) FROM page_versions`); n != 200 {
		t.Errorf("page_versions cover %d pages", n)
	}
	cols, err := in.Schema(ctx)
	if err != nil || len(cols) < 40 {
		t.Fatalf("schema: %d columns, %v", len(cols), err)
	}
}

// testdataDir is absolute, for tests that change the working folder.
var testdataDir, _ = filepath.Abs("../spec/testdata")

// TestReviewerSQLIsLockedIn: a query may read the archive's views and
// nothing else, write nowhere, and cannot undo the lock.
func TestReviewerSQLIsLockedIn(t *testing.T) {
	// DuckDB's default temporary folder is .tmp in the working folder,
	// which it allows a query to read and write: it must not be used.
	wd := t.TempDir()
	t.Chdir(wd)
	os.Mkdir(".tmp", 0o755)
	os.WriteFile(filepath.Join(".tmp", "secret.csv"), []byte("a,b\n1,2\n"), 0o644)
	// Opened afresh, and from the cache (the second open through it).
	cache := t.TempDir()
	for _, cfg := range []Config{{}, {CacheDir: cache}, {CacheDir: cache}} {
		reviewerLockedIn(t, wd, cfg)
	}
}

func reviewerLockedIn(t *testing.T, wd string, cfg Config) {
	in, err := OpenConfig(ctx, cfg, filepath.Join(testdataDir, "golden-1.0.ferry"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if n := count(t, in, `SELECT count(*) FROM events`); n != 129 {
		t.Fatalf("golden archive: %d events", n)
	}
	secret := filepath.Join(t.TempDir(), "secret.csv")
	os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o644)
	for _, q := range []string{
		`SELECT * FROM read_csv('` + secret + `')`,
		`SELECT * FROM read_text('/etc/passwd')`,
		`SELECT * FROM read_csv('` + filepath.Join(wd, ".tmp", "secret.csv") + `')`,
		`SELECT * FROM read_csv('.tmp/secret.csv')`,
		`COPY (SELECT 1) TO '.tmp/out.csv'`,
		`COPY (SELECT 1) TO '` + filepath.Join(wd, ".tmp", "out.csv") + `'`,
		`COPY (SELECT 1) TO '` + filepath.Join(t.TempDir(), "out.csv") + `'`,
		`SET enable_external_access = true`,
		`SET lock_configuration = false`,
		`INSTALL httpfs`,
		`ATTACH '` + filepath.Join(t.TempDir(), "x.db") + `'`,
	} {
		rows, err := in.Query(ctx, q)
		if err == nil {
			rows.Close()
			t.Errorf("allowed: %s", q)
		} else if !strings.Contains(strings.ToLower(err.Error()), "disabled") && !strings.Contains(strings.ToLower(err.Error()), "permission") &&
			!strings.Contains(err.Error(), "lock") && !strings.Contains(strings.ToLower(err.Error()), "not allowed") {
			t.Logf("%s: %v", q, err)
		}
	}
	// The cached database is shared by later calls: it is opened read-only.
	if cfg.CacheDir != "" {
		if rows, err := in.Query(ctx, `DROP VIEW pages`); err == nil {
			rows.Close()
			t.Error("a query dropped a view of the cached database")
		}
	}
	if _, err := os.Stat(filepath.Join(wd, ".tmp", "out.csv")); err == nil {
		t.Error("a query wrote into .tmp")
	}
	// A query that would run for ever stops with its context.
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	rows, err := in.Query(tctx, `SELECT count(*) FROM range(100000000000000)`)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil || time.Since(start) > 30*time.Second {
		t.Errorf("an endless query: %v after %s", err, time.Since(start))
	}
}

// TestInspectPredictsImport: what the scope view says will not be copied
// equals, kind by kind, what an import then reports as not copied; and what
// it says is copied, the import writes or matches.
func TestInspectPredictsImport(t *testing.T) {
	path := generated(t)
	in, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	predicted := map[string]int64{}
	copied := map[string]int64{}
	rows, err := in.Query(ctx, `SELECT entity, copied, count(*) FROM scope GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, c string
		var n int64
		rows.Scan(&kind, &c, &n)
		if c == "no" {
			predicted[kind] += n
		} else {
			copied[kind] += n
		}
	}
	rows.Close()
	dest, err := embedded.Create(filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	rep, err := importer.Run(ctx, path, &importer.EmbeddedDestination{Site: dest}, importer.Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	for kind, c := range rep.Kinds {
		if c.NotCopied != predicted[kind] {
			t.Errorf("%s: inspect predicted %d not copied, import reports %d", kind, predicted[kind], c.NotCopied)
		}
		if done := c.Created + c.Updated + c.Deleted + c.Unchanged + c.Merged; done != copied[kind] {
			t.Errorf("%s: inspect predicted %d copied, import wrote or matched %d", kind, copied[kind], done)
		}
	}
}

var update = flag.Bool("update", false, "rewrite spec/INSPECT.md")

func TestInspectDocIsCurrent(t *testing.T) {
	in, err := Open(ctx, "../spec/testdata/golden-1.0.ferry")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cols, err := in.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc := SchemaDoc(cols)
	for _, c := range cols {
		if viewDocs[c.View] == "" {
			t.Errorf("view %s is not described", c.View)
		}
	}
	const path = "../spec/INSPECT.md"
	if *update {
		os.WriteFile(path, []byte(doc), 0o644)
	}
	got, _ := os.ReadFile(path)
	if string(got) != doc {
		t.Fatal("spec/INSPECT.md is out of date: go test ./inspect -run TestInspectDoc -update")
	}
}
