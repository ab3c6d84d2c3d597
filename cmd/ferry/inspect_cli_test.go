package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectCLI(t *testing.T) {
	dir := t.TempDir()
	site, archive := filepath.Join(dir, "site.db"), filepath.Join(dir, "site.ferry")
	ferry(t, nil, "generate", "--out", site, "--users", "30", "--spaces", "3", "--pages", "90", "--seed", "5")
	ferry(t, nil, "export", "--from", site, "--out", archive)
	out, stderr, code := ferry(t, nil, "inspect", archive)
	if code != 0 || !strings.Contains(out, "personal data: 30 users") || !strings.Contains(out, "apps whose data is not copied") {
		t.Fatalf("summary: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = ferry(t, nil, "inspect", archive, "--format", "json")
	var s struct {
		Events int64 `json:"events"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Events == 0 {
		t.Fatalf("json summary: exit %d\n%s", code, out)
	}
	out, _, code = ferry(t, nil, "inspect", archive, "--sql", "SELECT count(*) AS n FROM pages", "--format", "csv")
	if code != 0 || strings.TrimSpace(out) != "n\n90" {
		t.Fatalf("--sql csv: exit %d %q", code, out)
	}
	// A review script: each statement's result, in turn, where DuckDB alone
	// would answer for the last only.
	script := "SELECT count(*) AS n FROM pages; -- the pages; then the users\nSELECT count(*) AS u FROM users WHERE display_name != 'a;b';"
	out, stderr, code = ferry(t, nil, "inspect", archive, "--sql", script, "--format", "csv")
	if code != 0 || out != "n\n90\n\nu\n30\n" {
		t.Fatalf("--sql with two statements: exit %d %q %s", code, out, stderr)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "SELECT 1; SELEC 2"); code != 1 || !strings.Contains(stderr, "statement 2 of 2") {
		t.Errorf("a script whose second statement is wrong: exit %d, %s", code, stderr)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "SELECT 1; SELECT 2", "--out", filepath.Join(dir, "two.csv")); code != 2 || !strings.Contains(stderr, "--out") {
		t.Errorf("--out with two statements: exit %d, %s", code, stderr)
	}
	// A script's setup statements print nothing, and --out saves the query
	// that ends it.
	setup := "CREATE TEMP VIEW old AS SELECT * FROM pages WHERE versions > 1; CREATE TEMP MACRO pct(a, b) AS round(100.0 * a / b); SET VARIABLE least = 2;\n"
	query := "SELECT count(*) AS n, pct(count(*), (SELECT count(*) FROM pages)) <= 100 AS share FROM old WHERE versions >= getvariable('least')"
	out, stderr, code = ferry(t, nil, "inspect", archive, "--sql", setup+query, "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "n,share\n") || strings.Count(out, "\n") != 2 || !strings.HasSuffix(out, ",true\n") {
		t.Errorf("--sql with setup statements: exit %d %q %s", code, out, stderr)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", setup+query, "--out", filepath.Join(dir, "old.csv")); code != 0 {
		t.Errorf("--out after setup statements: exit %d, %s", code, stderr)
	} else if data, _ := os.ReadFile(filepath.Join(dir, "old.csv")); string(data) != out {
		t.Errorf("--out after setup statements saved %q, printed %q", data, out)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "SELECT count(*) FROM pages;"+setup, "--out", filepath.Join(dir, "x.csv")); code != 2 || !strings.Contains(stderr, "statement 1 of 4 is a query before the last") {
		t.Errorf("--out with a query, then setup: exit %d, %s", code, stderr)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "CREATE VIEW mine AS SELECT 1"); code != 1 || !strings.Contains(stderr, "CREATE TEMP VIEW") {
		t.Errorf("a view that is not temporary: exit %d, %s", code, stderr)
	}
	if _, _, code := ferry(t, nil, "inspect", archive, "--sql", " -- nothing;\n"); code != 2 {
		t.Errorf("--sql without a statement: exit %d", code)
	}
	// Values as DuckDB writes them: a day, an exact number, a list.
	out, stderr, code = ferry(t, nil, "inspect", archive, "--sql", "SELECT DATE '2024-01-02' AS d, 1.50::DECIMAL(4,2) AS x, ['a b', 'c'] AS l", "--format", "json")
	if code != 0 || out != `{"d":"2024-01-02","l":["a b","c"],"x":1.5}`+"\n" {
		t.Errorf("--sql values as json: exit %d %q %s", code, out, stderr)
	}
	saved := filepath.Join(dir, "users.json")
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "SELECT account_id, email FROM users", "--out", saved); code != 0 {
		t.Fatal(stderr)
	}
	data, _ := os.ReadFile(saved)
	if lines := strings.Count(string(data), "\n"); lines != 30 {
		t.Errorf("--out wrote %d lines, want 30 users", lines)
	}
	if out, _, code := ferry(t, nil, "inspect", archive, "--schema"); code != 0 || !strings.Contains(out, "page_versions") {
		t.Errorf("--schema: exit %d", code)
	}
	if _, stderr, code := ferry(t, nil, "inspect", archive, "--sql", "COPY (SELECT 1) TO '"+filepath.Join(dir, "x.csv")+"'"); code != 1 || !strings.Contains(stderr, "disabled") {
		t.Errorf("a query writing a file: exit %d, %s", code, stderr)
	}
	if _, _, code := ferry(t, nil, "inspect", archive, "--sql", "SELECT 1", "--format", "yaml"); code != 2 {
		t.Errorf("bad --format: exit %d", code)
	}
	// Against a copy that already has everything: nothing new, no bill growth.
	copyDB := filepath.Join(dir, "copy.db")
	ferry(t, nil, "import", archive, "--to", copyDB, "--allow-missing-apps")
	out, stderr, code = ferry(t, nil, "inspect", archive, "--against", copyDB)
	if code != 0 || !strings.Contains(out, "nothing was written") {
		t.Fatalf("--against: exit %d\n%s%s", code, out, stderr)
	}
	// Against an empty site: every account is new.
	empty := filepath.Join(dir, "empty.db")
	ferry(t, nil, "generate", "--out", empty, "--users", "1", "--spaces", "1", "--pages", "1", "--seed", "77")
	out, _, code = ferry(t, nil, "inspect", archive, "--against", empty, "--format", "json")
	var rep struct {
		NewBillable int64 `json:"new_accounts_in_groups"`
		Conflicts   []string
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.NewBillable == 0 {
		t.Fatalf("--against an empty site: exit %d\n%s", code, out)
	}
	// A site that does not exist yet is a destination to review too, and
	// the review creates nothing.
	missing := filepath.Join(dir, "nope.db")
	if _, _, code := ferry(t, nil, "inspect", archive, "--against", missing); code != 0 {
		t.Errorf("--against a site that does not exist yet: exit %d", code)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("--against created %s", missing)
	}
}

func TestInspectChainParquetAndDiff(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.db")
	full, inc, fresh := filepath.Join(dir, "full.ferry"), filepath.Join(dir, "inc.ferry"), filepath.Join(dir, "fresh.ferry")
	ferry(t, nil, "generate", "--out", site, "--users", "30", "--spaces", "3", "--pages", "90", "--seed", "6")
	ferry(t, nil, "export", "--from", site, "--out", full)
	ferry(t, nil, "generate", "--evolve", site, "--changes", "80", "--seed", "3")
	ferry(t, nil, "export", "--from", site, "--out", inc, "--since", full)
	ferry(t, nil, "export", "--from", site, "--out", fresh)
	q := "SELECT count(*) AS n FROM pages"
	chain, stderr, code := ferry(t, nil, "inspect", full, inc, "--sql", q, "--format", "csv")
	want, _, _ := ferry(t, nil, "inspect", fresh, "--sql", q, "--format", "csv")
	if code != 0 || chain != want {
		t.Fatalf("pages over the chain %q (exit %d, %s), over a fresh export %q", chain, code, stderr, want)
	}
	if _, stderr, code := ferry(t, nil, "inspect", inc, full); code != 1 || !strings.Contains(stderr, "in order") {
		t.Errorf("a chain out of order: exit %d, %s", code, stderr)
	}
	out := filepath.Join(dir, "pages.parquet")
	if _, stderr, code := ferry(t, nil, "inspect", fresh, "--sql", "SELECT * FROM pages", "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	data, _ := os.ReadFile(out)
	if len(data) < 8 || string(data[:4]) != "PAR1" || string(data[len(data)-4:]) != "PAR1" {
		t.Fatalf("--out .parquet wrote %d bytes that are not Parquet", len(data))
	}
	// A query that ends in a comment saves as well.
	commented := filepath.Join(dir, "commented.parquet")
	if _, stderr, code := ferry(t, nil, "inspect", fresh, "--sql", "SELECT * FROM pages -- every page;", "--out", commented); code != 0 {
		t.Fatalf("--out .parquet of a query ending in a comment: exit %d, %s", code, stderr)
	}
	if out, _, code := ferry(t, nil, "inspect", "diff", full, fresh); code != 1 || !strings.Contains(out, "DIFFERENT") {
		t.Errorf("diff of an archive and a later one: exit %d\n%s", code, out)
	}
	if _, _, code := ferry(t, nil, "inspect", "diff", fresh, fresh); code != 0 {
		t.Errorf("diff of an archive with itself: exit %d", code)
	}
	if _, _, code := ferry(t, nil, "inspect", "diff", fresh); code != 2 {
		t.Errorf("diff with one archive: exit %d, want 2", code)
	}
}
