package inspect

import "testing"

// A script's statements, classified in order as each runs: the ones that
// only prepare the session are setup, the ones with answers are not.
func TestIsSetupClassifiesAsDuckDB(t *testing.T) {
	in, err := Open(ctx, "../spec/testdata/golden-1.0.ferry")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, c := range []struct {
		stmt  string
		setup bool
	}{
		{"CREATE TEMP VIEW mine AS SELECT id, title FROM pages", true},
		{"CREATE TEMP TABLE kept (id VARCHAR)", true},
		{"INSERT INTO kept SELECT id FROM mine", true},
		{"CREATE TEMP MACRO twice(x) AS 2 * x", true},
		{"SET VARIABLE least = 1", true},
		{"SELECT twice(count(*)) FROM kept WHERE length(id) >= getvariable('least')", false},
		{"WITH t AS (SELECT 1 AS x) SELECT x FROM t", false},
		{"FROM mine", false},
		{"DESCRIBE pages", false},
		{"SHOW TABLES", false},
		{"SUMMARIZE SELECT 1 AS x", false},
		{"EXPLAIN SELECT * FROM mine", false},
		{"PRAGMA version", false},
		{"DROP VIEW mine", true},
	} {
		setup, err := in.IsSetup(ctx, c.stmt)
		if err != nil {
			t.Fatalf("%s: %v", c.stmt, err)
		}
		if setup != c.setup {
			t.Errorf("%s: setup %v, want %v", c.stmt, setup, c.setup)
		}
		if setup {
			err = in.Exec(ctx, c.stmt)
		} else {
			rows, qerr := in.Query(ctx, c.stmt)
			if err = qerr; err == nil {
				err = rows.Close()
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", c.stmt, err)
		}
	}
	// A statement that does not bind is an error, named as a query's is.
	if _, err := in.IsSetup(ctx, "SELECT * FROM nowhere"); err == nil {
		t.Error("a statement over a missing view classified without an error")
	}
}
