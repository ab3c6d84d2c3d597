package importer

// The journal: what a Cloud import wrote, by source id, and how far it
// got, in a SQLite file beside the import, so that a re-run resumes and
// never writes twice.

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// journal is the local record of a Cloud import: source ids to Cloud ids,
// and how far each archive got.
type journal struct{ db *sql.DB }

// DefaultJournal is where imports into a site keep their journal.
func DefaultJournal(site string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	u, _ := url.Parse(site)
	host := "site"
	if u != nil && u.Host != "" {
		host = strings.NewReplacer(":", "_", "/", "_").Replace(u.Host)
	}
	return filepath.Join(dir, "ferry", "journal-"+host+".db")
}

func openJournal(path string, dry bool) (*journal, error) {
	if dry {
		return memoryJournal(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// Only its owner may read it, as archives: it maps the source's ids.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err = db.Exec(journalSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &journal{db: db}, nil
}

const journalSchema = `CREATE TABLE IF NOT EXISTS ids (source_site TEXT NOT NULL, kind TEXT NOT NULL, source_id TEXT NOT NULL, cloud_id TEXT NOT NULL,
		PRIMARY KEY (source_site, kind, source_id)) WITHOUT ROWID;
	CREATE TABLE IF NOT EXISTS progress (archive_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, done INTEGER NOT NULL) WITHOUT ROWID;`

// memoryJournal is a dry run's journal: a copy in memory of the one at
// path (if there is one, read only), so the rehearsal starts where a real
// run would, and writes no file.
func memoryJournal(path string) (*journal, error) {
	db, err := sql.Open("sqlite3", "file::memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if _, err := db.Exec(journalSchema); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
		_, err := db.Exec(`ATTACH DATABASE ? AS saved`, "file:"+escaped+"?mode=ro")
		if err == nil {
			_, err = db.Exec(`INSERT INTO ids SELECT * FROM saved.ids; INSERT INTO progress SELECT * FROM saved.progress; DETACH DATABASE saved`)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return &journal{db: db}, nil
}

func (j *journal) lookup(site, kind, id string) (string, bool) {
	var v string
	err := j.db.QueryRow(`SELECT cloud_id FROM ids WHERE source_site = ? AND kind = ? AND source_id = ?`, site, kind, id).Scan(&v)
	return v, err == nil
}

// all returns every mapping of a kind.
func (j *journal) all(site, kind string) map[string]string {
	out := map[string]string{}
	rows, err := j.db.Query(`SELECT source_id, cloud_id FROM ids WHERE source_site = ? AND kind = ?`, site, kind)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		rows.Scan(&a, &b)
		out[a] = b
	}
	return out
}

// count counts the mappings of a kind.
func (j *journal) count(site, kind string) int {
	var n int
	j.db.QueryRow(`SELECT count(*) FROM ids WHERE source_site = ? AND kind = ?`, site, kind).Scan(&n)
	return n
}

func (j *journal) record(site, kind, id, cloudID string) error {
	return j.recordAll(site, id, map[string]string{kind: cloudID})
}

// recordAll records what is known of one source id in one transaction.
// What a later event looks up together must be written together: a run
// killed between "content" and "content-kind" left a page the journal
// called written but of no kind, and its re-run skipped the page's
// comments and attachments as if it had not been.
func (j *journal) recordAll(site, id string, records map[string]string) error {
	if testHookRecord != nil {
		if err := testHookRecord(); err != nil {
			return err
		}
	}
	tx, err := j.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for kind, cloudID := range records {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?)`, site, kind, id, cloudID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// testHookRecord, when set (by tests), runs before each journal write: a
// test stops a run there, as a kill between two writes would.
var testHookRecord func() error

// forget removes a record: what it noted is gone from the destination.
func (j *journal) forget(site, kind, id string) error {
	_, err := j.db.Exec(`DELETE FROM ids WHERE source_site = ? AND kind = ? AND source_id = ?`, site, kind, id)
	return err
}

func (j *journal) progress(archiveID string) (int64, bool) {
	var seq int64
	var done bool
	if err := j.db.QueryRow(`SELECT seq, done FROM progress WHERE archive_id = ?`, archiveID).Scan(&seq, &done); errors.Is(err, sql.ErrNoRows) || err != nil {
		return 0, false
	}
	return seq, done
}

func (j *journal) checkpoint(archiveID string, seq int64, done bool) error {
	_, err := j.db.Exec(`INSERT INTO progress VALUES (?, ?, ?) ON CONFLICT(archive_id) DO UPDATE SET seq = max(seq, excluded.seq), done = excluded.done OR done`,
		archiveID, seq, done)
	return err
}
