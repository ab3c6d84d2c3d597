package inspect

import (
	"database/sql"
	"testing"
)

// What a reviewer reads in a table or CSV cell is what DuckDB itself
// writes for the value, not the Go driver's rendering of it.
func TestValuesReadAsDuckDBWritesThem(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ expr, want string }{
		{"DATE '2024-01-02'", "2024-01-02"},
		{"TIME '12:34:56.5'", "12:34:56.5"},
		{"TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02T03:04:05Z"},
		{"1.50::DECIMAL(4,2)", "1.5"},
		{"round(10 / 3.0, 2)", "3.33"},
		{"12345678901234567890::HUGEINT", "12345678901234567890"},
		{"18446744073709551615::UBIGINT", "18446744073709551615"},
		{"0.1::DOUBLE", "0.1"},
		{"1e6::DOUBLE", "1000000"},
		{"'nan'::DOUBLE", "NaN"},
		{"'-inf'::FLOAT", "-Inf"},
		{"INTERVAL 2 DAY", "2 days"},
		{"INTERVAL '14 months 1 day 01:02:03.5'", "1 year 2 months 1 day 01:02:03.5"},
		{"INTERVAL 0 DAY", "00:00:00"},
		{"'e2b5a3b0-7c1a-4b8e-9a6f-0123456789ab'::UUID", "e2b5a3b0-7c1a-4b8e-9a6f-0123456789ab"},
		{"'\\x00a\\x5C'::BLOB", `\x00a\x5C`},
		{"['a b', 'c']", `["a b","c"]`},
		{"[1.5::DECIMAL(2,1), NULL]", `[1.5,null]`},
		{"{'n': DATE '2024-01-02', 'a b': [TIME '01:02:03']}", `{"a b":["01:02:03"],"n":"2024-01-02"}`},
		{"[DATE '2024-01-02']", `["2024-01-02"]`},
		{"MAP {DATE '2024-01-02': INTERVAL 1 DAY}", `{"2024-01-02":"1 day"}`},
		{"true", "true"},
		{"NULL", ""},
	} {
		rows, err := db.QueryContext(ctx, "SELECT "+c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		types, _ := rows.ColumnTypes()
		var v any
		rows.Next()
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		rows.Close()
		if got := Text(Value(v, types[0].DatabaseTypeName())); got != c.want {
			t.Errorf("%s: %q, want %q", c.expr, got, c.want)
		}
	}
}
