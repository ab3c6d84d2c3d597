package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"ferry/model"
)

// Confluence Cloud has no change feed. So a Cloud export keeps a record of
// every entity it saw, with a fingerprint of what an update could change,
// and stores it as a blob of its archive, named by the watermark. The next
// incremental export reads the site again but emits only what differs from
// the record, skips fetching versions the record says were exported, and
// ends with the removal of whatever the record has and the site no longer
// does.

// recordRow is one line of a record (NDJSON).
type recordRow struct {
	Kind    string `json:"k"` // an event kind, or "version" for a version count
	ID      string `json:"i"`
	Parent  string `json:"p,omitempty"`
	Space   string `json:"s,omitempty"`
	FP      string `json:"f,omitempty"` // fingerprint of the state an update would change
	Aux     string `json:"a,omitempty"` // a group's name (for renames), a page's status
	Version int    `json:"v,omitempty"` // the highest version exported
}

// recorder writes the new record and answers questions about the previous
// one, which it keeps in a SQLite file so memory stays flat.
type recorder struct {
	db          *sql.DB
	tx          *sql.Tx
	incremental bool
	path        string // the new record, until finish names it by digest
	f           *os.File
	w           *bufio.Writer
	h           hash.Hash
	ord         int64
	last        time.Time // the latest time the export saw: removals happen then
}

// newRecorder starts a record in dir; prev, if not nil, is the previous one.
func newRecorder(ctx context.Context, dir string, prev io.Reader) (*recorder, error) {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "record.db")+"?_journal_mode=OFF&_synchronous=OFF&cache=private")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	r := &recorder{db: db, incremental: prev != nil, path: filepath.Join(dir, "record.ndjson"), h: sha256.New()}
	if err := r.load(ctx, prev); err != nil {
		db.Close()
		return nil, err
	}
	if r.f, err = os.Create(r.path); err != nil {
		db.Close()
		return nil, err
	}
	r.w = bufio.NewWriterSize(io.MultiWriter(r.f, r.h), 1<<16)
	return r, nil
}

func (r *recorder) load(ctx context.Context, prev io.Reader) error {
	_, err := r.db.ExecContext(ctx, `CREATE TABLE prev (kind TEXT, id TEXT, parent TEXT, space TEXT, fp TEXT, aux TEXT, version INTEGER, ord INTEGER,
		PRIMARY KEY (kind, id)) WITHOUT ROWID;
		CREATE TABLE seen (kind TEXT, id TEXT, PRIMARY KEY (kind, id)) WITHOUT ROWID;
		CREATE TABLE containers (id TEXT PRIMARY KEY, space TEXT) WITHOUT ROWID;
		CREATE TABLE comments (seq INTEGER PRIMARY KEY, id TEXT, loc TEXT, container TEXT, parent TEXT, raw BLOB);
		CREATE INDEX comments_by_parent ON comments(parent);
		CREATE TABLE restrictions (id TEXT PRIMARY KEY, raw BLOB) WITHOUT ROWID;
		CREATE TABLE current (id TEXT PRIMARY KEY, number INTEGER, title TEXT, body TEXT) WITHOUT ROWID;
		CREATE TABLE spool (seq INTEGER PRIMARY KEY, stage INTEGER, type TEXT, id TEXT, parent TEXT, space TEXT, at TEXT, actor TEXT, payload BLOB);`)
	if err != nil {
		return err
	}
	if r.tx, err = r.db.BeginTx(ctx, nil); err != nil {
		return err
	}
	if prev == nil {
		return nil
	}
	ins, err := r.tx.Prepare(`INSERT OR REPLACE INTO prev VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	dec := json.NewDecoder(bufio.NewReader(prev))
	for n := int64(1); ; n++ {
		var row recordRow
		if err := dec.Decode(&row); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("the previous archive's record of the Cloud site, line %d: %w", n, err)
		}
		if _, err := ins.Exec(row.Kind, row.ID, row.Parent, row.Space, row.FP, row.Aux, row.Version, n); err != nil {
			return err
		}
	}
}

// write adds a row to the new record.
func (r *recorder) write(row *recordRow) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	r.w.Write(append(b, '\n'))
	if r.incremental {
		_, err = r.tx.Exec(`INSERT OR IGNORE INTO seen VALUES (?, ?)`, row.Kind, row.ID)
	}
	return err
}

// previous returns the previous record's row for an entity.
func (r *recorder) previous(kind, id string) (*recordRow, bool, error) {
	if !r.incremental {
		return nil, false, nil
	}
	row := recordRow{Kind: kind, ID: id}
	err := r.tx.QueryRow(`SELECT parent, space, fp, aux, version FROM prev WHERE kind = ? AND id = ?`, kind, id).
		Scan(&row.Parent, &row.Space, &row.FP, &row.Aux, &row.Version)
	if err == sql.ErrNoRows {
		return nil, false, nil
	}
	return &row, err == nil, err
}

// exported returns how many versions of an entity earlier exports wrote.
func (r *recorder) exported(kind, id string) (int, error) {
	row, ok, err := r.previous("version", kind+":"+id)
	if !ok {
		return 0, err
	}
	return row.Version, nil
}

// sawVersions records that an entity has versions up to n.
func (r *recorder) sawVersions(kind, id string, n int) error {
	return r.write(&recordRow{Kind: "version", ID: kind + ":" + id, Version: n})
}

// unchanged reports whether an entity is in the previous record with at
// least listed versions; if so, it carries its rows over into the new
// record, so the export can skip it without forgetting it.
func (r *recorder) unchanged(kind, id string, listed int) (bool, error) {
	if !r.incremental {
		return false, nil
	}
	old, ok, err := r.previous(kind, id)
	if !ok {
		return false, err
	}
	done, err := r.exported(kind, id)
	if err != nil || done < listed || listed == 0 {
		return false, err
	}
	if err := r.write(old); err != nil {
		return false, err
	}
	return true, r.sawVersions(kind, id, done)
}

// previousIDs lists the ids of one kind in the previous record.
func (r *recorder) previousIDs(kind string) ([]string, error) {
	rows, err := r.tx.Query(`SELECT id FROM prev WHERE kind = ?`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func fingerprint(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// rowOf is the record row of a change that brings an entity into being;
// versions have none (see sawVersions).
func rowOf(c *model.Change) (*recordRow, bool) {
	row := &recordRow{Kind: c.Type.Kind(), ID: c.ID, Parent: c.Parent, Space: c.Space}
	switch p := c.Payload.(type) {
	case *model.Group:
		row.FP, row.Aux = fingerprint(p.Name), p.Name
	case *model.Content:
		row.FP, row.Aux = fingerprint([]any{p.ParentID, p.Position}), p.Status
	case *model.Membership, *model.SpacePermission, *model.Label, *model.Restriction, *model.Like:
		// they exist or not
	case *model.User, *model.App, *model.Space, *model.Comment, *model.Attachment, *model.Property, *model.Skipped:
		row.FP = fingerprint(p)
	default:
		return nil, false
	}
	return row, true
}

// filter records every change the full read of the site makes and, in an
// incremental export, passes on only what differs from the previous record,
// as the update events the archive format has for it.
func (r *recorder) filter(emit func(*model.Change) error) func(*model.Change) error {
	return func(c *model.Change) error {
		if c.At.After(r.last) {
			r.last = c.At
		}
		row, ok := rowOf(c)
		if !ok {
			return emit(c)
		}
		if err := r.write(row); err != nil {
			return err
		}
		old, found, err := r.previous(row.Kind, row.ID)
		if err != nil || !found {
			if err == nil {
				err = emit(c)
			}
			return err
		}
		switch p := c.Payload.(type) {
		case *model.User:
			if old.FP != row.FP {
				return emit(&model.Change{Type: model.UserUpdated, ID: c.ID, At: c.At, Payload: p})
			}
		case *model.Group:
			if old.FP != row.FP {
				renamed := *p
				renamed.OldName = old.Aux
				return emit(&model.Change{Type: model.GroupRenamed, ID: c.ID, At: c.At, Payload: &renamed})
			}
		case *model.Space:
			if old.FP != row.FP {
				return emit(&model.Change{Type: model.SpaceUpdated, ID: c.ID, Space: c.Space, At: c.At, Actor: c.Actor, Payload: p})
			}
		case *model.Content:
			moved, status := model.PageMoved, model.PageStatus
			switch c.Type {
			case model.BlogpostCreated:
				moved, status = "", model.BlogpostStatus
			case model.FolderCreated:
				moved, status = model.FolderMoved, model.FolderStatus
			}
			if old.FP != row.FP && moved != "" {
				m := &model.Move{ID: p.ID, ParentID: p.ParentID, Position: p.Position}
				if err := emit(&model.Change{Type: moved, ID: c.ID, Parent: c.Parent, Space: c.Space, At: r.last, Payload: m}); err != nil {
					return err
				}
			}
			if old.Aux != row.Aux {
				s := &model.StatusChange{ID: p.ID, Status: p.Status}
				return emit(&model.Change{Type: status, ID: c.ID, Parent: c.Parent, Space: c.Space, At: r.last, Payload: s})
			}
		default:
			if old.FP != row.FP { // a new state under the same event type
				return emit(c)
			}
		}
		return nil
	}
}

// removals are the events for what the previous record has and the site no
// longer does, in the order the archive format wants them (spec/EVENTS.md):
// whatever hangs on content first, containers last, and within a kind the
// reverse of the order they came in, so children go before their parents.
// Pages and folders are one tree: they go together, folders as
// folder.deleted.
var removals = []struct {
	kind string
	typ  model.EventType
}{
	{"property", model.PropertyDeleted}, {"restriction", model.RestrictionRemoved}, {"label", model.LabelRemoved}, {"like", model.LikeRemoved},
	{"attachment", model.AttachmentDeleted}, {"comment", model.CommentDeleted}, {"blogpost", model.BlogpostDeleted},
	{"page", model.PageDeleted}, {"space_permission", model.SpacePermissionRevoked}, {"space", model.SpaceDeleted},
	{"membership", model.MembershipRemoved}, {"group", model.GroupDeleted},
}

func (r *recorder) remove(emit func(*model.Change) error) error {
	if !r.incremental {
		return nil
	}
	for _, rm := range removals {
		also := ""
		if rm.kind == "page" {
			also = "folder"
		}
		rows, err := r.tx.Query(`SELECT id, parent, space, kind FROM prev p WHERE kind IN (?, ?)
			AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.kind = p.kind AND s.id = p.id) ORDER BY ord DESC`, rm.kind, also)
		if err != nil {
			return err
		}
		for rows.Next() {
			var row recordRow
			if err = rows.Scan(&row.ID, &row.Parent, &row.Space, &row.Kind); err != nil {
				break
			}
			typ := rm.typ
			if row.Kind == "folder" {
				typ = model.FolderDeleted
			}
			c := &model.Change{Type: typ, ID: row.ID, Parent: row.Parent, Space: row.Space, At: r.last, Payload: &model.Deleted{ID: row.ID}}
			if err = emit(c); err != nil {
				break
			}
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// spool keeps an event on disk until replay: a Cloud site is read once,
// and an archive names the accounts before what they wrote, which are
// known only at the end.
func (r *recorder) spool(stage int, c *model.Change) error {
	payload, err := model.Encode(c.Payload)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", c.Type, c.ID, err)
	}
	_, err = r.tx.Exec(`INSERT INTO spool (stage, type, id, parent, space, at, actor, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		stage, string(c.Type), c.ID, c.Parent, c.Space, c.At.UTC().Format(time.RFC3339Nano), c.Actor, payload)
	return err
}

// replay emits a stage's spooled events in the order they came, at the
// time given if they had none, and empties it.
func (r *recorder) replay(stage int, at time.Time, emit func(*model.Change) error) error {
	rows, err := r.tx.Query(`SELECT type, id, parent, space, at, actor, payload FROM spool WHERE stage = ? ORDER BY seq`, stage)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c         model.Change
			typ, when string
			payload   []byte
		)
		if err := rows.Scan(&typ, &c.ID, &c.Parent, &c.Space, &when, &c.Actor, &payload); err != nil {
			return err
		}
		c.Type = model.EventType(typ)
		if c.At, err = time.Parse(time.RFC3339Nano, when); err != nil {
			return err
		}
		if c.At.IsZero() {
			c.At = at
		}
		if c.Payload, err = model.Decode(c.Type, payload); err != nil {
			return err
		}
		if err := emit(&c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	_, err = r.tx.Exec(`DELETE FROM spool WHERE stage = ?`, stage)
	return err
}

// keepCurrent keeps a page's or blog post's current version, as a list
// brought it, until its versions are read.
func (r *recorder) keepCurrent(id string, number int, title, body string) error {
	_, err := r.tx.Exec(`INSERT OR REPLACE INTO current VALUES (?, ?, ?, ?)`, id, number, title, body)
	return err
}

// container notes a page or blog post exported, in its space: comments
// and attachments read from the site's lists go with it.
func (r *recorder) container(id, space string) error {
	_, err := r.tx.Exec(`INSERT OR REPLACE INTO containers VALUES (?, ?)`, id, space)
	return err
}

// containerSpace is the space of a page or blog post exported; false if
// none was.
func (r *recorder) containerSpace(id string) (string, bool, error) {
	var space string
	err := r.tx.QueryRow(`SELECT space FROM containers WHERE id = ?`, id).Scan(&space)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return space, err == nil, err
}

// keepComment keeps a comment as the site's list gave it, until all are
// read.
func (r *recorder) keepComment(id, loc, container, parent string, raw []byte) error {
	_, err := r.tx.Exec(`INSERT INTO comments (id, loc, container, parent, raw) VALUES (?, ?, ?, ?, ?)`, id, loc, container, parent, raw)
	return err
}

// comments walks the comments kept, of the pages and blog posts exported,
// each after its parent, in the order they were read; a reply's container
// is its thread's. A reply whose parent is not there is left out, as it
// cannot be placed.
func (r *recorder) comments(each func(raw []byte, loc, container, parent, space string) error) error {
	rows, err := r.tx.Query(`WITH RECURSIVE t(seq, container, depth) AS (
			SELECT c.seq, c.container, 0 FROM comments c WHERE c.parent = ''
			UNION ALL SELECT c.seq, t.container, t.depth + 1 FROM comments c JOIN comments p ON c.parent = p.id AND c.loc = p.loc JOIN t ON t.seq = p.seq)
		SELECT c.raw, c.loc, t.container, c.parent, k.space FROM t JOIN comments c ON c.seq = t.seq JOIN containers k ON k.id = t.container
		ORDER BY t.depth, t.seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		var loc, container, parent, space string
		if err := rows.Scan(&raw, &loc, &container, &parent, &space); err != nil {
			return err
		}
		if err := each(raw, loc, container, parent, space); err != nil {
			return err
		}
	}
	return rows.Err()
}

// stranded walks the replies comments leaves out, of the pages and blog
// posts exported: their parent is not among the kept comments of their
// kind.
func (r *recorder) stranded(each func(raw []byte, loc, parent, space string) error) error {
	rows, err := r.tx.Query(`WITH RECURSIVE t(seq) AS (
			SELECT c.seq FROM comments c WHERE c.parent = ''
			UNION ALL SELECT c.seq FROM comments c JOIN comments p ON c.parent = p.id AND c.loc = p.loc JOIN t ON t.seq = p.seq)
		SELECT c.raw, c.loc, c.parent, k.space FROM comments c JOIN containers k ON k.id = c.container
		WHERE c.seq NOT IN (SELECT seq FROM t) ORDER BY c.seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		var loc, parent, space string
		if err := rows.Scan(&raw, &loc, &parent, &space); err != nil {
			return err
		}
		if err := each(raw, loc, parent, space); err != nil {
			return err
		}
	}
	return rows.Err()
}

// keepRestrictions keeps content's restrictions, as a list brought them
// whole, until the content's turn.
func (r *recorder) keepRestrictions(id string, raw []byte) error {
	_, err := r.tx.Exec(`INSERT OR REPLACE INTO restrictions VALUES (?, ?)`, id, raw)
	return err
}

// restrictionsOf is what keepRestrictions kept, or nil.
func (r *recorder) restrictionsOf(id string) ([]byte, error) {
	var raw []byte
	err := r.tx.QueryRow(`SELECT raw FROM restrictions WHERE id = ?`, id).Scan(&raw)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return raw, err
}

// current is a version that a list brought whole.
type current struct {
	number      int
	title, body string
}

// current is what keepCurrent kept, or nil.
func (r *recorder) current(id string) (*current, error) {
	var c current
	err := r.tx.QueryRow(`SELECT number, title, body FROM current WHERE id = ?`, id).Scan(&c.number, &c.title, &c.body)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return &c, err
}

// finish closes the new record and names it by its SHA-256 in dir, where
// the source's OpenBlob finds it; it returns that digest.
func (r *recorder) finish() (string, error) {
	if err := r.w.Flush(); err != nil {
		return "", err
	}
	if err := r.f.Close(); err != nil {
		return "", err
	}
	digest := hex.EncodeToString(r.h.Sum(nil))
	return digest, os.Rename(r.path, filepath.Join(filepath.Dir(r.path), digest))
}

func (r *recorder) close() {
	if r.f != nil {
		r.f.Close()
	}
	if r.tx != nil {
		r.tx.Rollback()
	}
	r.db.Close()
	os.Remove(r.path)
	os.Remove(filepath.Join(filepath.Dir(r.path), "record.db"))
}
