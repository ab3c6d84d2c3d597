// Package inspect answers questions about an archive offline with DuckDB:
// what is inside, what will and will not be copied and why, whose personal
// data it holds. It reads only the event segments (never the blobs),
// checking each against its SHA-256 as it copies it to a temporary folder,
// or to a cache entry that later calls open directly (cache.go), and never
// unpacks the archive into memory. After the views are set up,
// DuckDB's external access and configuration are locked, so a reviewer's
// SQL can read the archive's events and nothing else, and change nothing.
package inspect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"

	"ferry/archive"
	"ferry/model"

	_ "github.com/duckdb/duckdb-go/v2" // the DuckDB driver
)

// Inspector is an archive opened for SQL.
type Inspector struct {
	db *sql.DB
	// openDB, when set, opens db on first use (database): a cached entry
	// whose summary is remembered answers without starting DuckDB.
	openDB   func(context.Context) error
	dbErr    error
	entry    string // the cache entry's folder, if opened through the cache
	dir      string
	Header   archive.Header
	Manifest *archive.Manifest
	segments []segmentFile // the copied segments, for Extract
	paths    []string      // the archives, in order, for Extract
	read     []archive.ReadOption
}

// segmentFile is an event segment copied out of an archive.
type segmentFile struct {
	path, archive string
	typed         bool // it stores the typed columns (see hasTypedColumns)
}

// Open checks one archive, or a chain of them (a full archive and its
// increments, in order), copies their event segments out (checking their
// SHA-256) and sets up the views over them as one log.
func Open(ctx context.Context, paths ...string) (*Inspector, error) {
	return OpenWith(ctx, nil, paths...)
}

// OpenWith is Open with read options: the age identities of encrypted
// archives, whose segments are decrypted as they are copied out.
func OpenWith(ctx context.Context, opts []archive.ReadOption, paths ...string) (*Inspector, error) {
	return OpenConfig(ctx, Config{Read: opts}, paths...)
}

// Config is how an archive is opened for SQL.
type Config struct {
	Read []archive.ReadOption // age identities of encrypted archives
	// CacheDir keeps checked segments and their views between calls
	// (cache.go); none when empty. CacheBytes bounds it
	// (DefaultCacheBytes when 0).
	CacheDir   string
	CacheBytes int64
	// MemoryLimit caps DuckDB's memory, as DuckDB's memory_limit setting
	// takes it ("1GB"); DefaultMemoryLimit when empty. What does not fit
	// spills to a folder of the Inspector's own, which it removes.
	MemoryLimit string
}

// DefaultMemoryLimit is DuckDB's memory limit unless Config says: well
// below a small machine's memory (DuckDB's own default is 80% of it).
const DefaultMemoryLimit = "1GB"

// OpenConfig is Open with a Config.
func OpenConfig(ctx context.Context, cfg Config, paths ...string) (*Inspector, error) {
	if cfg.MemoryLimit == "" {
		cfg.MemoryLimit = DefaultMemoryLimit
	}
	if cfg.CacheDir != "" {
		in, err := openCached(ctx, cfg, paths)
		if !errors.Is(err, errNoCache) {
			return in, err
		}
	}
	dir, err := os.MkdirTemp("", "ferry-inspect-")
	if err != nil {
		return nil, err
	}
	in := &Inspector{dir: dir, paths: paths, read: cfg.Read}
	typed, untyped, err := in.copySegments(paths)
	if err != nil {
		in.Close()
		return nil, err
	}
	if err := in.setup(ctx, eventsView(typed, untyped), cfg.MemoryLimit); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// copySegments checks the archives of a chain, copies their event
// segments into in.dir (checking their SHA-256) and merges their
// manifests. It returns the copies, with and without typed columns.
func (in *Inspector) copySegments(paths []string) (typed, untyped []string, err error) {
	for i, path := range paths {
		// By its manifest: opening costs time in the manifest's size, not
		// in the number of blobs, whose bytes inspect never reads.
		f, err := archive.OpenQuick(path, in.read...)
		if err != nil {
			return nil, nil, err
		}
		h := f.Header()
		if i > 0 && h.ParentID != in.Header.ArchiveID {
			f.Close()
			return nil, nil, fmt.Errorf("%s continues archive %q, not %s: give a chain in order, full archive first", path, h.ParentID, paths[i-1])
		}
		if i == 0 {
			in.Header, in.Manifest = h, f.Manifest()
		} else {
			in.Header.ArchiveID, in.Manifest = h.ArchiveID, mergeManifests(in.Manifest, f.Manifest())
		}
		isTyped := hasTypedColumns(f.Manifest())
		for _, seg := range f.Segments() {
			out := filepath.Join(in.dir, fmt.Sprintf("%02d-%s", i, filepath.Base(seg.Name)))
			if err := copyChecked(f, seg.Name, out); err != nil {
				f.Close()
				return nil, nil, err
			}
			if isTyped {
				typed = append(typed, out)
			} else {
				untyped = append(untyped, out)
			}
			in.segments = append(in.segments, segmentFile{path: out, archive: h.ArchiveID, typed: isTyped})
		}
		f.Close()
	}
	// Reading a manifest (40 MB at 400,000 pages) leaves freed Go heap
	// that the runtime returns to the system only gradually; DuckDB's
	// queries would otherwise stack their memory on top of it.
	debug.FreeOSMemory()
	return typed, untyped, nil
}

// setup opens DuckDB, creates the events view with the given statement and
// the views above it, then locks DuckDB down (configure).
func (in *Inspector) setup(ctx context.Context, events, memoryLimit string) error {
	var err error
	if in.db, err = sql.Open("duckdb", ""); err != nil {
		return err
	}
	in.db.SetMaxOpenConns(1) // one connection: the views and settings are the database's
	for _, stmt := range setupSQL(events) {
		if _, err := in.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("inspect: set up views: %w", err)
		}
	}
	return in.configure(ctx, memoryLimit, "")
}

// configure caps DuckDB's memory and locks it down: from then on a query
// may read files in in.dir (and in a cache entry's folder) only, and
// change no setting. DuckDB allows its
// temporary folder too (by default .tmp in the working folder), so it is
// put inside in.dir.
func (in *Inspector) configure(ctx context.Context, memoryLimit, entry string) error {
	in.db.SetMaxOpenConns(1)
	dirs := "'" + sqlString(in.dir) + "'"
	stmts := []string{
		fmt.Sprintf("SET temp_directory = '%s'", sqlString(filepath.Join(in.dir, "spill"))),
		fmt.Sprintf("SET memory_limit = '%s'", sqlString(memoryLimit)),
		// --extract's partitioned COPY buffers this many rows per kind
		// before writing: at DuckDB's default (524,288) it held 1.4 GB at
		// 400,000 pages, past the memory limit; at this, 0.45 GB.
		"SET partitioned_write_flush_threshold = " + strconv.Itoa(extractRowGroup),
	}
	if entry != "" {
		dirs += ", '" + sqlString(entry) + "'"
	}
	stmts = append(stmts,
		fmt.Sprintf("SET allowed_directories = [%s]", dirs),
		"SET enable_external_access = false",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET lock_configuration = true",
	)
	for _, stmt := range stmts {
		if _, err := in.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("inspect: lock down DuckDB (%s): %w", stmt, err)
		}
	}
	return nil
}

// hasTypedColumns reports whether an archive's segments store every typed
// column of model.Columns (archives from before they existed do not).
func hasTypedColumns(m *archive.Manifest) bool {
	have := map[string]archive.ColumnType{}
	for _, c := range m.Events.Columns {
		have[c.Name] = c.Type
	}
	for _, c := range model.Columns {
		if have[c.Name] != archive.ColumnType(c.Type) {
			return false
		}
	}
	return true
}

// mergeManifests sums the event and blob counts of a chain.
func mergeManifests(a, b *archive.Manifest) *archive.Manifest {
	m := *a
	m.Events.ByType = map[string]int64{}
	for _, x := range []*archive.Manifest{a, b} {
		for t, n := range x.Events.ByType {
			m.Events.ByType[t] += n
		}
	}
	m.Events.Count += b.Events.Count
	if b.Events.Count > 0 {
		m.Events.LastSeq = b.Events.LastSeq
	}
	m.Blobs.Count += b.Blobs.Count
	m.Blobs.ContentBytes += b.Blobs.ContentBytes
	return &m
}

// Save runs a reviewer's query and writes its result as Parquet to out,
// through the one folder DuckDB may write to, then moves it into place.
func (in *Inspector) Save(ctx context.Context, query, out string) error {
	tmp := filepath.Join(in.dir, "result.parquet")
	q := strings.TrimRight(strings.TrimSpace(query), ";")
	// The query on lines of its own: a -- comment at its end would
	// otherwise swallow the closing parenthesis.
	db, err := in.database(ctx)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (\n%s\n) TO '%s' (FORMAT parquet, COMPRESSION zstd)", q, strings.ReplaceAll(tmp, "'", "''"))); err != nil {
		return sqlError(err, query)
	}
	// DuckDB creates files readable by all; the result holds personal data.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	if os.Rename(tmp, out) == nil {
		return nil
	}
	// Another filesystem: a copy under a temporary name, then a rename.
	os.Remove(out + ".partial")
	if err := copyFile(tmp, out+".partial"); err != nil {
		os.Remove(out + ".partial")
		return err
	}
	return os.Rename(out+".partial", out)
}

// copyChecked copies a segment's contents to a file, failing if its
// stored bytes do not match their SHA-256 (or do not decrypt), and then
// checks its layout against the format's limits (archive.CheckSegment)
// before DuckDB reads it: a hostile segment could otherwise make DuckDB
// decode far more than the archive stores.
func copyChecked(f *archive.File, name, out string) error {
	r, err := f.OpenContent(name)
	if err != nil {
		return err
	}
	w, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer w.Close()
	n, err := io.Copy(w, r)
	if err != nil {
		return err
	}
	return archive.CheckSegment(name, w, n)
}

// sqlString escapes s for a single-quoted SQL string.
func sqlString(s string) string { return strings.ReplaceAll(s, "'", "''") }

// database is in.db, opened first if the Inspector was opened lazily.
func (in *Inspector) database(ctx context.Context) (*sql.DB, error) {
	if open := in.openDB; open != nil {
		in.openDB = nil
		in.dbErr = open(ctx)
	}
	if in.dbErr != nil {
		return nil, in.dbErr
	}
	return in.db, nil
}

// Close removes the copied segments.
func (in *Inspector) Close() error {
	if in.db != nil {
		in.db.Close()
	}
	return os.RemoveAll(in.dir)
}

// Leave is Close for a process about to exit: it removes the temporary
// folder and leaves DuckDB to the exit. Closing DuckDB frees its catalog
// one function at a time, 1.7-2 ms of the 18 ms a query call takes at
// 4,000 pages, and there is nothing to flush: a cached entry's database is
// opened read-only and the long way's is in memory, and every statement
// has finished when it returns.
func (in *Inspector) Leave() error { return os.RemoveAll(in.dir) }

// Query runs a reviewer's SQL.
func (in *Inspector) Query(ctx context.Context, query string) (*sql.Rows, error) {
	db, err := in.database(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, sqlError(err, query)
	}
	return rows, nil
}

// sqlError adds a hint to DuckDB's errors where a reviewer can act: "at",
// a column of several views, is an SQL keyword, and a query that names it
// bare does not parse (DuckDB's message points at the token after it); a
// CREATE without TEMP is refused as a write to the archive's views.
func sqlError(err error, query string) error {
	if strings.Contains(err.Error(), "Parser Error") && bareAt.MatchString(query) {
		return fmt.Errorf("sql: %w\n(at is an SQL keyword: write the column as \"at\", in double quotes)", err)
	}
	if strings.Contains(err.Error(), "attached in read-only mode") {
		return fmt.Errorf("sql: %w\n(the archive's views cannot change; a script's own views, tables and macros are temporary: CREATE TEMP VIEW, CREATE TEMP TABLE, CREATE TEMP MACRO)", err)
	}
	return fmt.Errorf("sql: %w", err)
}

var bareAt = regexp.MustCompile(`(?i)(^|[^"\w.])at([^"\w]|$)`)

// Column is one column of a view.
type Column struct {
	View, Name, Type string
}

// Schema lists the views a reviewer can query and their columns.
func (in *Inspector) Schema(ctx context.Context) ([]Column, error) {
	db, err := in.database(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_name IN (`+viewList()+`) ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.View, &c.Name, &c.Type); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func viewList() string {
	names := []string{"'events'"}
	for _, v := range views {
		names = append(names, "'"+v.name+"'")
	}
	return strings.Join(names, ", ")
}
