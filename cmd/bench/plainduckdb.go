package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// plainDuckDBMode is how bench runs itself as the baseline for inspect's
// memory: one audit query in a plain DuckDB over the folder that ferry
// inspect --extract writes, with its views.sql, and nothing of ferry's.
// It prints its own peak RSS: the kernel's rusage would count bench's
// memory too, which the child shares until it execs.
const plainDuckDBMode = "-plain-duckdb"

// plainDuckDB runs bench's hidden mode: DIR and QUERY, then prints
// "PEAK_KIB SECONDS" (the seconds from opening DuckDB to the last row).
func plainDuckDB(args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "bench %s DIR QUERY\n", plainDuckDBMode)
		return 2
	}
	dir, query := args[0], args[1]
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	views, err := os.ReadFile(filepath.Join(dir, "views.sql"))
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{fmt.Sprintf("SET file_search_path = '%s'", strings.ReplaceAll(dir, "'", "''")), string(views)} {
		if _, err := db.Exec(stmt); err != nil {
			return fail(err)
		}
	}
	rows, err := db.Query(query)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	secs := time.Since(start).Seconds()
	kib, ok := vmHWM("/proc/self/status")
	if !ok {
		return fail(fmt.Errorf("no VmHWM in /proc/self/status"))
	}
	fmt.Printf("%d %.4f\n", kib, secs)
	return 0
}

// plainDuckDBStep runs the audit queries in plain DuckDB, one process
// each as the CLI runs them, over the archive extracted by ferry inspect
// --extract: the same views, without ferry. Its peak RSS is the baseline
// for inspect's.
func (b *bench) plainDuckDBStep(arch string) (step, error) {
	dir := filepath.Join(b.dir, "extracted")
	defer os.RemoveAll(dir)
	if o, code, err := runCmd(b.ferry, "inspect", arch, "--extract", dir); err != nil || code != 0 {
		return step{}, fmt.Errorf("ferry inspect --extract: exit %d %v: %s", code, err, strings.TrimSpace(o.stderr))
	}
	st := step{Name: "plain DuckDB: the 3 queries over inspect --extract's folder, a process each (inspect's memory baseline)"}
	var peaks []string
	for _, q := range auditQueries {
		o, code, err := runCmd(b.self, plainDuckDBMode, dir, q)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d: %s", code, strings.TrimSpace(o.stderr))
		}
		if err != nil {
			return step{}, fmt.Errorf("plain DuckDB %q: %w", q, err)
		}
		var kib, secs float64
		if _, err := fmt.Sscan(o.stdout, &kib, &secs); err != nil {
			return step{}, fmt.Errorf("plain DuckDB %q: %q: %w", q, o.stdout, err)
		}
		st.Seconds += secs
		st.PeakMiB = max(st.PeakMiB, kib/1024)
		peaks = append(peaks, strconv.FormatFloat(kib/1024, 'f', 0, 64))
	}
	st.Note = "peak RSS MiB of each query's process: " + strings.Join(peaks, ", ") + "; seconds are DuckDB's, from opening to the last row, summed"
	return st, nil
}
