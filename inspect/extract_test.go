package inspect

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/archive"
)

// documentedViews are the views spec/INSPECT.md documents.
func documentedViews() []string {
	names := []string{"events"}
	for _, v := range views {
		names = append(names, v.name)
	}
	return names
}

// answers are a query's rows, each printed, sorted.
func answers(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// The extracted folder, read by a plain DuckDB through views.sql, answers
// as ferry inspect does: the summary and every documented view, for a
// chain of archives with typed columns and for an archive from before
// them (format 1.0, columns derived from payloads).
func TestExtractAnswersAsInspect(t *testing.T) {
	for name, paths := range map[string][]string{
		"chain":      evolvedChain(t),
		"golden-1.0": {filepath.Join(testdataDir, "golden-1.0.ferry")},
	} {
		t.Run(name, func(t *testing.T) {
			in, err := Open(ctx, paths...)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			dir := filepath.Join(t.TempDir(), "extracted")
			x, err := in.Extract(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			plain.SetMaxOpenConns(1)
			views, err := os.ReadFile(filepath.Join(dir, "views.sql"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plain.Exec(fmt.Sprintf("SET file_search_path = '%s'", sqlString(dir))); err != nil {
				t.Fatal(err)
			}
			if _, err := plain.Exec(string(views)); err != nil {
				t.Fatalf("views.sql: %v", err)
			}
			for _, v := range documentedViews() {
				q := "SELECT * FROM " + v
				want, got := answers(t, in.db, q), answers(t, plain, q)
				if len(want) == 0 && name == "chain" && v != "apps" {
					t.Errorf("%s: empty at inspect too; the test wants something to compare", v)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: %d rows from the extract, %d from inspect; first differing:\n got %.300q\nwant %.300q", v, len(got), len(want), first(got, want), first(want, got))
				}
			}
			want, err := in.Summarize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&Inspector{db: plain, Header: in.Header, Manifest: in.Manifest}).Summarize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			if string(wj) != string(gj) {
				t.Errorf("summary from the extract:\n%s\nfrom inspect:\n%s", gj, wj)
			}
			// The blob index lists each archive's blobs as its manifest does.
			var blobs, stored int64
			if err := plain.QueryRow(`SELECT count(*), coalesce(sum(stored_bytes), 0) FROM blobs`).Scan(&blobs, &stored); err != nil {
				t.Fatal(err)
			}
			var wantBlobs, wantStored int64
			for _, path := range paths {
				f, err := archive.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range f.Members() {
					if m.Kind == archive.KindBlob {
						wantBlobs++
						wantStored += m.Size
					}
				}
				f.Close()
			}
			if blobs != int64(x.Blobs) || blobs != wantBlobs || stored != wantStored || name == "chain" && blobs == 0 {
				t.Errorf("blob index: %d blobs of %d bytes stored (reported %d), want %d of %d", blobs, stored, x.Blobs, wantBlobs, wantStored)
			}
			// Partitioned by kind and archive, readable by its owner only.
			var parts int64
			if err := plain.QueryRow(`SELECT count(DISTINCT kind || archive) FROM read_parquet('events/*/*/*.parquet', hive_partitioning = true)`).Scan(&parts); err != nil {
				t.Fatal(err)
			}
			if parts < int64(x.Kinds) || x.Kinds < 5 {
				t.Errorf("%d kind and archive partitions, %d kinds", parts, x.Kinds)
			}
			filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s: mode %v, want its owner's only", path, fi.Mode().Perm())
				}
				return err
			})
			if _, err := in.Extract(ctx, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("extracting into a folder that has files: %v", err)
			}
		})
	}
}

// first is the first line of a not in b.
func first(a, b []string) string {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return s
		}
	}
	return ""
}

// The Spark SQL and Trino files are the same views, in those engines'
// words: no DuckDB-only syntax is left in them.
func TestViewsInOtherDialects(t *testing.T) {
	for _, d := range []string{"spark", "trino"} {
		sql := ViewsSQL(d)
		for _, duck := range []string{"->>", "arg_max(", "read_parquet", "::", "strlen(", "GROUP BY ALL", "FILTER (WHERE"} {
			if strings.Contains(sql, duck) {
				t.Errorf("%s: has DuckDB's %q", d, duck)
			}
		}
		for _, v := range documentedViews() {
			if !strings.Contains(sql, " VIEW "+v+" AS ") {
				t.Errorf("%s: no view %s", d, v)
			}
		}
	}
	if sql := ViewsSQL("spark"); strings.Contains(sql, `"at"`) {
		t.Error("spark: \"at\" is a string in Spark SQL; its identifiers are quoted with backticks")
	}
}
