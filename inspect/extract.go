package inspect

// Extract: an archive's (or a chain's) events and blob index as plain,
// Hive-partitioned Parquet, with the views of inspect in the SQL of
// DuckDB, Spark SQL and Trino, for audits past one machine (spec/INSPECT.md,
// "Audits past one machine"). ferry grows no engine of its own: the
// engines an organization has read the folder.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"ferry/archive"
	"ferry/model"
)

// blobEntry is one blob of one archive, as the blob index lists it.
type blobEntry struct {
	Archive      string `json:"archive"`
	Digest       string `json:"digest"` // SHA-256 of its content
	Member       string `json:"member"`
	StoredBytes  int64  `json:"stored_bytes"`
	ContentBytes int64  `json:"content_bytes"`
	Compressed   bool   `json:"compressed"`
	Encrypted    bool   `json:"encrypted"`
}

// writeBlobLines writes a JSON line per blob of each archive, read from
// its manifest again: one at a time, however many there are.
func (in *Inspector) writeBlobLines(w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	for _, path := range in.paths {
		f, err := archive.OpenQuick(path, in.read...)
		if err != nil {
			return n, err
		}
		id := f.Header().ArchiveID
		err = f.Walk(func(m *archive.Member) error {
			if m.Kind != archive.KindBlob {
				return nil
			}
			name := strings.TrimPrefix(m.Name, "blobs/")
			name, encrypted := strings.CutSuffix(name, ".age")
			_, compressed := strings.CutSuffix(name, ".zst")
			n++
			return enc.Encode(blobEntry{Archive: id, Digest: m.Digest, Member: m.Name, StoredBytes: m.Size, ContentBytes: m.ContentSize,
				Compressed: compressed, Encrypted: encrypted})
		})
		f.Close()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Extracted says what Extract wrote.
type Extracted struct {
	Events int64    `json:"events"`
	Kinds  int      `json:"kinds"` // entity kinds, each a folder of events/
	Blobs  int      `json:"blobs"`
	Files  []string `json:"view_files"`
}

// Dialects are the engines views files are written for: DuckDB's is
// views.sql, the others views.ENGINE.sql.
var Dialects = []string{"duckdb", "spark", "trino"}

// Extract writes into dir, a folder that must not exist or be empty:
//
//	events/kind=ENTITY/archive=ID/*.parquet  the events (entity and archive in the path)
//	blobs/blobs.parquet                      every archive's blobs, from its manifest
//	views.sql, views.spark.sql, views.trino.sql
//
// DuckDB writes it all into the Inspector's own folder, the one it may
// write to, and the whole is then moved into place: dir appears complete
// or not at all. Its files are readable by their owner only, as archives.
func (in *Inspector) Extract(ctx context.Context, dir string) (*Extracted, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("--extract %s: the folder is not empty; give a new one", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--extract %s: %w", dir, err)
	}
	if len(in.segments) == 0 {
		return nil, fmt.Errorf("--extract %s: the archive holds no events to extract", dir)
	}
	work := filepath.Join(in.dir, "extract")
	if err := os.MkdirAll(filepath.Join(work, "blobs"), 0o700); err != nil {
		return nil, err
	}
	var parts []string
	for _, seg := range in.segments {
		head := fmt.Sprintf(`SELECT entity AS kind, '%s' AS archive, seq, type, id, parent, space, "at", actor, CAST(payload AS VARCHAR) AS payload`, sqlString(seg.archive))
		if seg.typed {
			parts = append(parts, fmt.Sprintf("%s, %s FROM read_parquet(['%s'])", head, typedColumns(), sqlString(seg.path)))
		} else {
			parts = append(parts, fmt.Sprintf("%s, %s FROM (SELECT %s FROM read_parquet(['%s']))", head, derivedSelect(), envelope, sqlString(seg.path)))
		}
	}
	copyEvents := fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (kind, archive), ROW_GROUP_SIZE %d)",
		strings.Join(parts, "\nUNION ALL "), sqlString(filepath.Join(work, "events")), extractRowGroup)
	db, err := in.database(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, copyEvents); err != nil {
		return nil, fmt.Errorf("--extract: writing the events: %w", err)
	}
	blobs, err := in.writeBlobIndex(ctx, work)
	if err != nil {
		return nil, fmt.Errorf("--extract: writing the blob index: %w", err)
	}
	x := &Extracted{Events: in.Manifest.Events.Count, Blobs: blobs}
	for _, d := range Dialects {
		name := "views.sql"
		if d != "duckdb" {
			name = "views." + d + ".sql"
		}
		if err := os.WriteFile(filepath.Join(work, name), []byte(ViewsSQL(d)), 0o600); err != nil {
			return nil, err
		}
		x.Files = append(x.Files, name)
	}
	// DuckDB makes its files readable by all; these hold personal data.
	err = filepath.WalkDir(work, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if filepath.Base(filepath.Dir(path)) == "events" {
				x.Kinds++ // events/kind=K
			}
			return os.Chmod(path, 0o700)
		}
		return os.Chmod(path, 0o600)
	})
	if err != nil {
		return nil, err
	}
	if err := moveTree(work, dir); err != nil {
		return nil, fmt.Errorf("--extract %s: %w", dir, err)
	}
	return x, nil
}

// extractRowGroup is the rows of a row group of --extract's files, and
// how many DuckDB buffers per kind before writing them (configure):
// enough for engines to read well, few enough that the memory an extract
// takes does not grow with the archive as fast as the archive does.
const extractRowGroup = 16384

// writeBlobIndex writes blobs/blobs.parquet, through a JSON-lines file
// DuckDB reads with the columns stated (so an archive without blobs still
// gives a file with its schema).
func (in *Inspector) writeBlobIndex(ctx context.Context, work string) (int, error) {
	lines := filepath.Join(in.dir, "blobs.jsonl")
	f, err := os.OpenFile(lines, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(lines)
	n, err := in.writeBlobLines(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	db, err := in.database(ctx)
	if err != nil {
		return n, err
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf(`COPY (SELECT * FROM read_json('%s', format = 'newline_delimited', columns = {archive: 'VARCHAR', digest: 'VARCHAR',
		member: 'VARCHAR', stored_bytes: 'BIGINT', content_bytes: 'BIGINT', compressed: 'BOOLEAN', encrypted: 'BOOLEAN'})) TO '%s' (FORMAT parquet, COMPRESSION zstd)`,
		sqlString(lines), sqlString(filepath.Join(work, "blobs", "blobs.parquet"))))
	return n, err
}

// moveTree puts the folder src at dst (which may exist, empty): a rename,
// or across filesystems a copy under a temporary name, then a rename.
func moveTree(src, dst string) error {
	os.Remove(dst) // empty, if it exists (checked before)
	err := os.Rename(src, dst)
	var le *os.LinkError
	if err == nil || !errors.As(err, &le) || !errors.Is(le.Err, syscall.EXDEV) {
		return err
	}
	tmp := dst + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	err = filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(tmp, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		return copyFile(path, to)
	})
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

func copyFile(from, to string) error {
	r, err := os.Open(from)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// jsonField is a JSON field read as text, DuckDB's way: payload->>'key'.
var jsonField = regexp.MustCompile(`((?:\w+\.)?payload)->>'(\w+)'`)

// inDialect rewrites the views' SQL, written for DuckDB, for another
// engine: JSON fields, arg_max, and quoted identifiers are where they
// differ.
func inDialect(sql, dialect string) string {
	switch dialect {
	case "spark":
		sql = jsonField.ReplaceAllString(sql, "get_json_object($1, '$$.$2')")
		sql = strings.ReplaceAll(sql, `"at"`, "`at`")
		sql = strings.ReplaceAll(sql, "arg_max(", "max_by(")
	case "trino":
		sql = jsonField.ReplaceAllString(sql, "json_extract_scalar($1, '$$.$2')")
		sql = strings.ReplaceAll(sql, "arg_max(", "max_by(")
	}
	return sql
}

// ViewsSQL is the views of inspect (spec/INSPECT.md) over an extracted
// folder, in a dialect of Dialects.
func ViewsSQL(dialect string) string {
	var b strings.Builder
	view := func(name, query string) {
		switch dialect {
		case "spark":
			fmt.Fprintf(&b, "CREATE OR REPLACE TEMPORARY VIEW %s AS %s;\n\n", name, query)
		default:
			fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s AS %s;\n\n", name, query)
		}
	}
	typed := typedColumns()
	switch dialect {
	case "duckdb":
		b.WriteString(`-- The views of 'ferry inspect' (spec/INSPECT.md) over this folder, for DuckDB.
-- Run it in the folder (duckdb -init views.sql), or elsewhere after
-- SET file_search_path = 'FOLDER'; for object storage, put the folder's URL
-- before events/ and blobs/ below.

`)
		view("events", `SELECT seq, type, kind AS entity, id, parent, space, "at", actor, CAST(payload AS JSON) AS payload, `+typed+`
	FROM read_parquet('events/*/*/*.parquet', hive_partitioning = true)`)
		view("blobs", `SELECT * FROM read_parquet('blobs/*.parquet')`)
	case "spark":
		b.WriteString(`-- The views of 'ferry inspect' (spec/INSPECT.md) over this folder, for Spark SQL
-- (3.3 or later: max_by). Give the folder's location as DIR:
--   spark-sql -d DIR=s3a://bucket/prefix -f views.spark.sql

`)
		b.WriteString("CREATE OR REPLACE TEMPORARY VIEW events_files USING parquet OPTIONS (path '${DIR}/events');\n\n")
		b.WriteString("CREATE OR REPLACE TEMPORARY VIEW blobs USING parquet OPTIONS (path '${DIR}/blobs');\n\n")
		view("events", "SELECT seq, type, kind AS entity, id, parent, space, `at`, actor, payload, "+typed+" FROM events_files")
	case "trino":
		var cols []string
		for _, c := range model.Columns {
			cols = append(cols, c.Name+" "+strings.ToLower(sqlType(c.Type)))
		}
		b.WriteString(`-- The views of 'ferry inspect' (spec/INSPECT.md) over this folder, for Trino
-- with a Hive catalog. Replace DIR with the folder's location
-- (s3://bucket/prefix) and ferry with the schema to hold the tables, and
-- run it in that schema (USE hive.ferry).

`)
		fmt.Fprintf(&b, `CREATE TABLE IF NOT EXISTS events_files (seq bigint, type varchar, id varchar, parent varchar, space varchar,
	"at" timestamp(3), actor varchar, payload varchar, %s, kind varchar, archive varchar)
	WITH (format = 'PARQUET', external_location = 'DIR/events', partitioned_by = ARRAY['kind', 'archive']);

CALL system.sync_partition_metadata('ferry', 'events_files', 'ADD');

CREATE TABLE IF NOT EXISTS blobs (archive varchar, digest varchar, member varchar, stored_bytes bigint,
	content_bytes bigint, compressed boolean, encrypted boolean)
	WITH (format = 'PARQUET', external_location = 'DIR/blobs');

`, strings.Join(cols, ", "))
		view("events", `SELECT seq, type, kind AS entity, id, parent, space, "at", actor, payload, `+typed+" FROM events_files")
	}
	view("latest", inDialect(latestSQL(), dialect))
	var rules []string
	for _, r := range model.Scope {
		rules = append(rules, fmt.Sprintf("(%s, %s, %s, %s, %s)", lit(r.Kind), lit(string(r.Event)), lit(string(r.Copy)), lit(r.Condition), lit(r.Reason)))
	}
	values := "(VALUES " + strings.Join(rules, ",\n\t") + ")"
	if dialect == "spark" {
		values = "VALUES " + strings.Join(rules, ",\n\t")
	}
	view("scope_rules", "SELECT * FROM "+values+" AS t(kind, event, copy, condition, reason)")
	for _, v := range views {
		view(v.name, inDialect(v.sql, dialect))
	}
	return b.String()
}
