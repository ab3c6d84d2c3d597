package compare

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"ferry/model"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

// store holds one side of a comparison in a temporary SQLite file, so
// that memory does not grow with the site: each entity's latest state, its
// versions (bodies squeezed), the names entities are matched by, and at
// the end its content as (kind, key, value) entries, indexed in order.
type store struct {
	dir  string
	db   *sql.DB
	tx   *sql.Tx
	stmt map[string]*sql.Stmt
}

// Entities, versions and names are clustered by their keys, so that an
// entity's versions are read in one sequential scan with it. Entries are
// indexed once all are in: one sort.
const schema = `
CREATE TABLE entities (kind TEXT, id TEXT, type TEXT, state BLOB, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE TABLE versions (kind TEXT, id TEXT, number INTEGER, type TEXT, v BLOB, PRIMARY KEY (kind, id, number)) WITHOUT ROWID;
CREATE TABLE names (kind TEXT, id TEXT, name TEXT, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE TABLE entries (kind TEXT, key TEXT, value TEXT);`

// The statements a store runs for every change or entity.
var statements = map[string]string{
	"state":       `SELECT type, state FROM entities WHERE kind = ? AND id = ?`,
	"put":         `INSERT INTO entities VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET type = excluded.type, state = excluded.state`,
	"delete":      `DELETE FROM entities WHERE kind = ? AND id = ?`,
	"putVersion":  `INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?)`,
	"dropVersion": `DELETE FROM versions WHERE kind = ? AND id = ?`,
	"name":        `SELECT name FROM names WHERE kind = ? AND id = ?`,
	"putName":     `INSERT OR REPLACE INTO names VALUES (?, ?, ?)`,
	"entry":       `INSERT INTO entries VALUES (?, ?, ?)`,
}

// newStore creates a store in a new directory under TMPDIR.
func newStore(ctx context.Context) (*store, error) {
	dir, err := os.MkdirTemp("", "ferry-compare-*")
	if err != nil {
		return nil, fmt.Errorf("compare: a temporary directory: %w", err)
	}
	s := &store{dir: dir, stmt: map[string]*sql.Stmt{}}
	// Nothing here outlives the process: no journal, no syncs. The page
	// cache is bounded; sorts spill to SQLite's temporary files (TMPDIR).
	s.db, err = sql.Open("sqlite3", "file:"+filepath.Join(dir, "compare.db")+"?_journal_mode=OFF&_synchronous=OFF&_cache_size=-16384")
	if err == nil {
		s.db.SetMaxOpenConns(1)
		_, err = s.db.ExecContext(ctx, schema)
	}
	if err == nil {
		s.tx, err = s.db.BeginTx(ctx, nil)
	}
	for name, q := range statements {
		if err != nil {
			break
		}
		s.stmt[name], err = s.tx.PrepareContext(ctx, q)
	}
	if err != nil {
		s.close()
		return nil, fmt.Errorf("compare: the temporary store in %s: %w", dir, err)
	}
	return s, nil
}

func (s *store) close() {
	if s.tx != nil {
		s.tx.Rollback()
	}
	if s.db != nil {
		s.db.Close()
	}
	os.RemoveAll(s.dir)
}

// apply applies one change to a as model.State.Apply does. It does
// not check the ordering guarantee (that a change's references exist):
// verify and import do, and a lookup per reference would double the time
// a comparison takes.
func (s *store) apply(c *model.Change) error {
	subject := c.Subject()
	switch p := c.Payload.(type) {
	case *model.Version:
		p.Body = squeeze(p.Body)
		return s.putVersion(subject, p.Number, c.Type, p)
	case *model.AttachmentVersion:
		return s.putVersion(subject, p.Number, c.Type, p)
	case *model.Move, *model.StatusChange:
		typ, state, err := s.state(subject)
		if err != nil {
			return err
		}
		content, ok := state.(*model.Content)
		if !ok {
			return fmt.Errorf("%s %s: %s %s is not a page or blog post", c.Type, c.ID, subject.Kind, subject.ID)
		}
		if m, ok := p.(*model.Move); ok {
			content.ParentID, content.Position = m.ParentID, m.Position
		} else {
			content.Status = p.(*model.StatusChange).Status
		}
		return s.put(subject, typ, content)
	case *model.Deleted:
		if _, err := s.stmt["delete"].Exec(subject.Kind, subject.ID); err != nil {
			return err
		}
		_, err := s.stmt["dropVersion"].Exec(subject.Kind, subject.ID)
		return err
	case *model.Group:
		g := *p
		g.OldName = "" // what a rename came from is the event's, not the group's
		return s.put(subject, c.Type, &g)
	default:
		return s.put(subject, c.Type, p)
	}
}

func (s *store) put(r model.Ref, typ model.EventType, state any) error {
	b, err := json.Marshal(state)
	if err == nil {
		_, err = s.stmt["put"].Exec(r.Kind, r.ID, string(typ), b)
	}
	return err
}

func (s *store) putVersion(r model.Ref, number int, typ model.EventType, v any) error {
	b, err := json.Marshal(v)
	if err == nil {
		_, err = s.stmt["putVersion"].Exec(r.Kind, r.ID, number, string(typ), b)
	}
	return err
}

// state reads an entity's state, with the type of the event it came from.
func (s *store) state(r model.Ref) (model.EventType, any, error) {
	var typ string
	var b []byte
	if err := s.stmt["state"].QueryRow(r.Kind, r.ID).Scan(&typ, &b); err != nil {
		return "", nil, fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
	}
	v, err := model.Decode(model.EventType(typ), b)
	return model.EventType(typ), v, err
}

// each calls fn, in the order of kind and id, for every entity of one
// kind ("" for all), with its state and its versions in version
// order. Entities and versions are read as two sorted scans, merged.
func (s *store) each(ctx context.Context, kind string, fn func(r model.Ref, state any, versions []any) error) error {
	where, args := `true`, []any{}
	if kind != "" {
		where, args = `kind = ?`, []any{kind}
	}
	ents, err := s.tx.QueryContext(ctx, `SELECT kind, id, type, state FROM entities WHERE `+where+` ORDER BY kind, id`, args...)
	if err != nil {
		return err
	}
	defer ents.Close()
	vers, err := s.tx.QueryContext(ctx, `SELECT kind, id, type, v FROM versions WHERE `+where+` ORDER BY kind, id, number`, args...)
	if err != nil {
		return err
	}
	defer vers.Close()
	var v struct {
		r   model.Ref
		typ string
		b   []byte
		ok  bool
	}
	nextVersion := func() error {
		if v.ok = vers.Next(); !v.ok {
			return vers.Err()
		}
		return vers.Scan(&v.r.Kind, &v.r.ID, &v.typ, &v.b)
	}
	if err := nextVersion(); err != nil {
		return err
	}
	for ents.Next() {
		var r model.Ref
		var typ string
		var b []byte
		if err := ents.Scan(&r.Kind, &r.ID, &typ, &b); err != nil {
			return err
		}
		state, err := model.Decode(model.EventType(typ), b)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
		}
		for v.ok && refLess(v.r, r) { // versions of no entity (none are kept)
			if err := nextVersion(); err != nil {
				return err
			}
		}
		var versions []any
		for v.ok && v.r == r {
			ver, err := model.Decode(model.EventType(v.typ), v.b)
			if err != nil {
				return fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
			}
			versions = append(versions, ver)
			if err := nextVersion(); err != nil {
				return err
			}
		}
		if err := fn(r, state, versions); err != nil {
			return err
		}
	}
	return ents.Err()
}

// refLess orders refs as SQLite orders (kind, id): byte by byte.
func refLess(a, b model.Ref) bool {
	return a.Kind < b.Kind || a.Kind == b.Kind && a.ID < b.ID
}

func (s *store) putName(kind, id, name string) error {
	_, err := s.stmt["putName"].Exec(kind, id, name)
	return err
}

// name returns the name an entity is matched by ("" when it has none).
func (s *store) name(kind, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	var name string
	err := s.stmt["name"].QueryRow(kind, id).Scan(&name)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return name, err
}
