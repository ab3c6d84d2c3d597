package inspect

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
)

func TestStatementsSplitsWhereDuckDBWould(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1;", []string{"SELECT 1"}},
		{" SELECT 1 ; SELECT 2 ;; ", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 'a;b'; SELECT 'it''s;'", []string{"SELECT 'a;b'", "SELECT 'it''s;'"}},
		{`SELECT "we;ird" FROM t; SELECT 2`, []string{`SELECT "we;ird" FROM t`, "SELECT 2"}},
		{"SELECT E'\\';' AS x; SELECT 2", []string{"SELECT E'\\';' AS x", "SELECT 2"}},
		// A backslash ends nothing in a plain string.
		{"SELECT 'a\\'; SELECT 2", []string{"SELECT 'a\\'", "SELECT 2"}},
		{"SELECT $$a;b$$; SELECT $q$c;$$;d$q$", []string{"SELECT $$a;b$$", "SELECT $q$c;$$;d$q$"}},
		{"SELECT a$b; SELECT 2", []string{"SELECT a$b", "SELECT 2"}},
		{"SELECT 1 -- one; two\n; SELECT 2", []string{"SELECT 1 -- one; two", "SELECT 2"}},
		{"SELECT 1 /* a; /* b; */ c; */ + 1; SELECT 2", []string{"SELECT 1 /* a; /* b; */ c; */ + 1", "SELECT 2"}},
		{"-- only a comment;\n/* and; another */ ;", nil},
		{"SELECT 1; -- the end", []string{"SELECT 1"}},
		{"SELECT 'unclosed; SELECT 2", []string{"SELECT 'unclosed; SELECT 2"}},
		{"", nil},
	} {
		if got := Statements(c.sql); !slices.Equal(got, c.want) {
			t.Errorf("Statements(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

// DuckDB runs each piece as the one statement it is, with the answer the
// whole script would give for it.
func TestStatementsRunInDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	script := `SELECT 'a;b' AS x; -- c;d
		SELECT "we;ird" AS x FROM (SELECT 'e;f' AS "we;ird");
		/* g; /* h; */ i; */ SELECT $$j;k$$ AS x; SELECT E'l\';m' AS x`
	var got []string
	for _, stmt := range Statements(script) {
		var x string
		if err := db.QueryRowContext(ctx, stmt).Scan(&x); err != nil {
			t.Fatalf("%q: %v", stmt, err)
		}
		got = append(got, x)
	}
	if want := []string{"a;b", "e;f", "j;k", "l';m"}; !slices.Equal(got, want) {
		t.Fatalf("answers %q, want %q", got, want)
	}
}

// Whatever the input, the pieces are the input's own text, in order.
func FuzzStatements(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "SELECT 'a;b' /* c; */ -- d\n", "$$;$$;E'\\';'", "\"x;\"\"y\";"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		rest := sql
		for _, stmt := range Statements(sql) {
			if stmt == "" {
				t.Fatalf("an empty statement from %q", sql)
			}
			i := strings.Index(rest, stmt)
			if i < 0 {
				t.Fatalf("%q is not the input's text, in order: %q", stmt, sql)
			}
			rest = rest[i+len(stmt):]
		}
	})
}
