package confluencexml

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"ferry/model"

	_ "github.com/mattn/go-sqlite3" // the index is a SQLite file
)

// index holds the objects of entities.xml on disk, keyed for the lookups
// the build makes, so memory does not grow with the export.
type index struct {
	db     *sql.DB
	counts map[string]int64 // objects per class
	stmts  map[string]*sql.Stmt
	dups   []model.Skipped // objects left out for an id an earlier one has, or copied with characters replaced
}

// stmt prepares a query once: the build runs a few queries per object.
func (ix *index) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := ix.stmts[query]; ok {
		return st, nil
	}
	st, err := ix.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ix.stmts[query] = st
	return st, nil
}

const indexSchema = `
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE objects (id TEXT NOT NULL, class TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE bodies (content_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, body_type INTEGER NOT NULL);
CREATE TABLE versions (orig TEXT NOT NULL, id TEXT NOT NULL, class TEXT NOT NULL, number INTEGER NOT NULL);
CREATE TABLE props (id TEXT NOT NULL, content_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE prop_owners (prop_id TEXT NOT NULL, content_id TEXT NOT NULL);
CREATE TABLE crowd (lower_name TEXT PRIMARY KEY, display TEXT, email TEXT, active TEXT) WITHOUT ROWID;
`

const indexKeys = `
CREATE INDEX objects_by_class ON objects(class);
CREATE INDEX objects_by_id ON objects(id);
CREATE INDEX bodies_by_content ON bodies(content_id);
CREATE INDEX versions_by_orig ON versions(orig, number, id);
-- A property names its content, or its content lists it (newer exports).
CREATE INDEX prop_owners_by_prop ON prop_owners(prop_id);
CREATE TABLE owned_props AS SELECT coalesce(nullif(p.content_id, ''), o.content_id, '') AS content_id, p.name, p.value
	FROM props p LEFT JOIN prop_owners o ON o.prop_id = p.id;
CREATE INDEX owned_props_by_content ON owned_props(content_id, name);
`

// Classes whose objects are versions of content: their history groups by
// the current version's id.
var versioned = map[string]bool{"Page": true, "BlogPost": true, "Comment": true, "Attachment": true}

// buildIndex parses entities.xml from r into a new index at path.
func buildIndex(ctx context.Context, r io.Reader, path string) (*index, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=off&cache=private&_cache_size=-16384")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	ix := &index{db: db, counts: map[string]int64{}, stmts: map[string]*sql.Stmt{}}
	if _, err := db.ExecContext(ctx, indexSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The parse and the inserts run side by side, on two cores: the parse
	// hands each object over, with at most inFlight bytes of them waiting.
	objs := make(chan *Object, 256)
	room := &budget{limit: inFlight}
	room.cond = sync.NewCond(&room.mu)
	parsed := make(chan error, 1)
	go func() {
		defer close(objs)
		parsed <- Parse(r, func(o *Object) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			// Encoded here, on the parse's core, not the inserts'. (A
			// body goes into its own table, not as an object.)
			if o.Class != "BodyContent" {
				o.encoded, _ = json.Marshal(o)
			}
			if !room.take(o.size()) {
				return errIndexStopped
			}
			objs <- o
			return nil
		})
	}()
	in := &inserts{tx: tx, stmts: map[string]*sql.Stmt{}}
	pending := 0
	var insertErr error
	for o := range objs {
		if insertErr == nil {
			insertErr = func() error {
				ix.counts[o.Class]++
				if o.Replaced != "" {
					ix.dups = append(ix.dups, model.Skipped{Class: o.Class, ID: truncate(o.ID, 80), Objects: 1, Line: o.Line, Detail: o.Replaced,
						Reason: "characters XML 1.0 cannot hold (controls, or bytes that are not UTF-8), replaced by U+FFFD: the object is copied with them replaced"})
				}
				if err := ix.add(in, o); err != nil {
					return fmt.Errorf("index object %s %s (line %d): %w", o.Class, o.ID, o.Line, err)
				}
				if pending++; pending >= 5000 {
					pending = 0
					if err := tx.Commit(); err != nil {
						return err
					}
					var err error
					tx, err = db.BeginTx(ctx, nil)
					in = &inserts{tx: tx, stmts: map[string]*sql.Stmt{}}
					return err
				}
				return nil
			}()
			if insertErr != nil {
				room.stop() // the parse stops at its next object
			}
		}
		room.give(o.size())
	}
	err = <-parsed
	if insertErr != nil {
		err = insertErr
	}
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err == nil {
		err = ix.dedupe(ctx)
	}
	if err == nil {
		_, err = db.ExecContext(ctx, indexKeys)
	}
	// The build reads objects while it iterates over others.
	db.SetMaxOpenConns(4)
	if err != nil {
		db.Close()
		return nil, err
	}
	return ix, nil
}

// inFlight bounds the bytes of objects parsed and not yet indexed.
const inFlight = 16 << 20

var errIndexStopped = errors.New("the index stopped")

// budget is room for objects between the parse and the inserts.
type budget struct {
	mu      sync.Mutex
	cond    *sync.Cond
	used    int
	limit   int
	stopped bool
}

// take waits for room for n bytes (one object over the limit is let in
// alone); false once the inserts have stopped.
func (b *budget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.stopped && b.used > 0 && b.used+n > b.limit {
		b.cond.Wait()
	}
	b.used += n
	return !b.stopped
}

func (b *budget) give(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *budget) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// size is about what an object holds in memory.
func (o *Object) size() int {
	n := 128 + len(o.Class) + len(o.ID)
	for k, v := range o.Props {
		n += len(k) + len(v) + 32
	}
	for k, rs := range o.Colls {
		n += len(k) + 48*len(rs)
	}
	return n + 64*len(o.Refs) + len(o.encoded)
}

// dedupe keeps, of the objects that share a class and an id, the first in
// the file, and lists the others as skipped with their lines. Real exports
// hold such twins after a failed space import, or with the history of a
// renamed page; without this, any one of them sinks the conversion.
func (ix *index) dedupe(ctx context.Context) error {
	rows, err := ix.db.QueryContext(ctx, `SELECT o.class, o.id, json_extract(o.data, '$.n'), f.line FROM objects o
		JOIN (SELECT class, id, min(rowid) AS first, json_extract(data, '$.n') AS line FROM objects GROUP BY class, id HAVING count(*) > 1) f
		ON f.class = o.class AND f.id = o.id AND o.rowid != f.first ORDER BY o.rowid`)
	if err != nil {
		return fmt.Errorf("index: finding objects that share an id: %w", err)
	}
	for rows.Next() {
		var class, id string
		var line, first int
		if err := rows.Scan(&class, &id, &line, &first); err != nil {
			rows.Close()
			return err
		}
		ix.dups = append(ix.dups, model.Skipped{Class: class, ID: truncate(id, 80), Objects: 1, Line: line, Detail: fmt.Sprintf("the first is at line %d", first),
			Reason: "an object whose class and id an earlier one in the file has (after a failed space import, or a renamed page's history): the first is used"})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ix.dups) == 0 {
		return err
	}
	for _, q := range []string{
		`DELETE FROM objects WHERE rowid NOT IN (SELECT min(rowid) FROM objects GROUP BY class, id)`,
		`DELETE FROM bodies WHERE rowid NOT IN (SELECT min(rowid) FROM bodies GROUP BY id)`,
		`DELETE FROM versions WHERE rowid NOT IN (SELECT min(rowid) FROM versions GROUP BY class, id)`,
		`DELETE FROM props WHERE rowid NOT IN (SELECT min(rowid) FROM props GROUP BY id)`,
		`DELETE FROM prop_owners WHERE rowid NOT IN (SELECT min(rowid) FROM prop_owners GROUP BY prop_id, content_id)`,
	} {
		if _, err := ix.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index: leaving out objects that share an id: %w", err)
		}
	}
	return nil
}

// inserts are the index's writes in one transaction, each statement
// prepared once for it rather than once per row.
type inserts struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (in *inserts) exec(q string, args ...any) error {
	st := in.stmts[q]
	if st == nil {
		var err error
		if st, err = in.tx.Prepare(q); err != nil {
			return err
		}
		in.stmts[q] = st
	}
	_, err := st.Exec(args...)
	return err
}

func (ix *index) add(tx *inserts, o *Object) error {
	switch o.Class {
	case "BodyContent":
		bt, _ := strconv.Atoi(strings.TrimSpace(o.Props["bodyType"]))
		return tx.exec(`INSERT INTO bodies VALUES (?, ?, ?, ?)`, o.Refs["content"].ID, o.ID, o.Props["body"], bt)
	case "ContentProperty":
		value := cmp.Or(o.Props["stringValue"], o.Props["longValue"], o.Props["dateValue"])
		return tx.exec(`INSERT INTO props VALUES (?, ?, ?, ?)`, o.ID, o.Refs["content"].ID, o.Props["name"], value)
	case "InternalUser":
		// Kept as an object too: an older membership names it by id.
		if err := tx.exec(`INSERT OR REPLACE INTO crowd VALUES (?, ?, ?, ?)`, strings.ToLower(o.Props["name"]),
			o.Props["displayName"], o.Props["emailAddress"], o.Props["active"]); err != nil {
			return err
		}
	}
	for _, r := range o.Colls["contentProperties"] {
		if err := tx.exec(`INSERT INTO prop_owners VALUES (?, ?)`, r.ID, o.ID); err != nil {
			return err
		}
	}
	if versioned[o.Class] {
		orig := o.Refs["originalVersion"].ID
		if orig == "" {
			orig = strings.TrimSpace(o.Props["originalVersionId"])
		}
		if orig == "" {
			orig = o.ID
		}
		n, _ := strconv.Atoi(versionOf(o))
		if err := tx.exec(`INSERT INTO versions VALUES (?, ?, ?, ?)`, orig, o.ID, o.Class, n); err != nil {
			return err
		}
	}
	data := o.encoded
	if data == nil {
		var err error
		if data, err = json.Marshal(o); err != nil {
			return err
		}
	}
	return tx.exec(`INSERT INTO objects VALUES (?, ?, ?)`, o.ID, o.Class, data)
}

// versionOf is an object's version number as its export writes it:
// "version", or, for Confluence 4.x attachments, "attachmentVersion".
func versionOf(o *Object) string {
	if v := strings.TrimSpace(o.Props["version"]); v != "" {
		return v
	}
	return strings.TrimSpace(o.Props["attachmentVersion"])
}

// each calls fn for every object of the classes, in id order.
func (ix *index) each(ctx context.Context, query string, fn func(*Object) error, args ...any) error {
	st, err := ix.stmt(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return err
		}
		var o Object
		if err := json.Unmarshal([]byte(data), &o); err != nil {
			return err
		}
		if err := fn(&o); err != nil {
			var oe *ObjectError
			if errors.As(err, &oe) {
				return err
			}
			return &ObjectError{Class: o.Class, ID: o.ID, Line: o.Line, Err: err}
		}
	}
	return rows.Err()
}

// get returns the object with this id among these classes, or nil.
func (ix *index) get(ctx context.Context, id string, classes ...string) (*Object, error) {
	var found *Object
	q := `SELECT data FROM objects WHERE id = ? AND class IN ('` + strings.Join(classes, "','") + `') LIMIT 1`
	err := ix.each(ctx, q, func(o *Object) error { found = o; return nil }, id)
	return found, err
}

func (ix *index) close() error {
	for _, st := range ix.stmts {
		st.Close()
	}
	return ix.db.Close()
}

// ObjectError says which object of entities.xml could not be converted.
type ObjectError struct {
	Class, ID string
	Line      int
	Err       error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("object %s %s (entities.xml line %d): %v", e.Class, e.ID, e.Line, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }
