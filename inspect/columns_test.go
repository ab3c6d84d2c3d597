package inspect

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ferry/archive"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"
	"ferry/model"
)

// evolvedChain exports a generated site, edits it a lot and exports the
// changes, so that the chain holds every kind of event, updates, status
// changes and removals included.
func evolvedChain(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 40, Spaces: 4, Pages: 150, AttachmentBytes: 1 << 19, Seed: 3, Folders: 2}); err != nil {
		t.Fatal(err)
	}
	full, inc := filepath.Join(dir, "full.ferry"), filepath.Join(dir, "inc.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: site}, full, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := generate.Evolve(ctx, site, 600, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: site}, inc, export.Options{Since: full}); err != nil {
		t.Fatal(err)
	}
	return []string{full, inc}
}

// The typed columns export stores equal those inspect derives from the
// payload for older archives, event by event, for every event type that
// has any.
func TestDerivedColumnsMatchExport(t *testing.T) {
	in, err := Open(ctx, evolvedChain(t)...)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, types := range derivedColumns {
		for typ := range types {
			if in.Manifest.Events.ByType[string(typ)] == 0 {
				t.Errorf("the test archive has no %s event: the comparison would not cover it", typ)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(in.dir, "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no segments copied")
	}
	src := "read_parquet([" + quoteList(files) + "])"
	var diffs []string
	for _, c := range model.Columns {
		q := `SELECT type, count(*) FROM (SELECT seq, type, ` + c.Name + ` AS stored FROM ` + src + `) a
			JOIN (SELECT seq, ` + derivedSelect() + ` FROM (SELECT ` + envelope + ` FROM ` + src + `)) b USING (seq)
			WHERE a.stored IS DISTINCT FROM b.` + c.Name + ` GROUP BY 1`
		rows, err := in.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var typ string
			var n int64
			rows.Scan(&typ, &n)
			diffs = append(diffs, c.Name+" of "+typ)
		}
		rows.Close()
	}
	if len(diffs) > 0 {
		t.Errorf("stored and derived columns differ: %s", strings.Join(diffs, ", "))
	}
	if n := count(t, in, `SELECT count(*) FROM events WHERE mentions > 0`); n == 0 {
		t.Error("no version mentions a user: the mentions column is not exercised")
	}
}

// Archives without typed columns (written before they existed) inspect
// exactly like those with them, alone or in a chain with newer ones.
func TestArchiveWithoutTypedColumns(t *testing.T) {
	typed := evolvedChain(t)
	dir := t.TempDir()
	untyped := []string{filepath.Join(dir, "full.ferry"), filepath.Join(dir, "inc.ferry")}
	for i := range typed {
		rewriteWithoutColumns(t, typed[i], untyped[i], nil)
	}
	chains := [][]string{typed, untyped, {untyped[0], typed[1]}}
	summaries := make([]*Summary, len(chains))
	tables := make([][]string, len(chains))
	for i, chain := range chains {
		in, err := Open(ctx, chain...)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := in.Summarize(ctx); err != nil {
			t.Fatal(err)
		} else {
			s.ArchiveID, s.Created = "", s.Created.UTC().Truncate(0)
			summaries[i] = s
		}
		for _, v := range views {
			rows, err := in.Query(ctx, "SELECT count(*), md5(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR)) FROM "+v.name+" x")
			if err != nil {
				t.Fatal(err)
			}
			rows.Next()
			var n int64
			var sum string
			rows.Scan(&n, &sum)
			rows.Close()
			tables[i] = append(tables[i], v.name+": "+sum)
		}
		in.Close()
	}
	if summaries[1].Events == 0 || summaries[1].Personal.Mentioning == 0 {
		t.Fatalf("untyped summary is empty: %+v", summaries[1])
	}
	for c := 1; c < len(chains); c++ {
		if !reflect.DeepEqual(summaries[0], summaries[c]) {
			t.Errorf("summaries differ:\n typed %+v\n %s %+v", summaries[0], chains[c], summaries[c])
		}
		for i := range tables[0] {
			if tables[0][i] != tables[c][i] {
				t.Errorf("view differs: typed %s, %s %s", tables[0][i], chains[c], tables[c][i])
			}
		}
	}
}

// rewriteWithoutColumns copies an archive's events and blobs into a new
// archive without producer columns, as ferry wrote before it had them,
// passing each event through edit when it is not nil.
func rewriteWithoutColumns(t *testing.T, from, to string, edit func(*archive.Event)) {
	t.Helper()
	f, err := archive.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := f.Header() // the same archive id, so the chain still links
	w, err := archive.Create(to, h)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, b := range f.Members() {
		if b.Kind != archive.KindBlob {
			continue
		}
		r, err := f.OpenBlob(b.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.AddBlob(r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	it := f.Events()
	defer it.Close()
	for it.Next() {
		e := it.Event()
		if edit != nil {
			edit(e)
		}
		if err := w.WriteEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if cols := w.Manifest().Events.Columns; len(cols) != 0 {
		t.Fatalf("rewritten archive declares columns %v", cols)
	}
}
