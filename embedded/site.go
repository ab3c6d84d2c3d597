package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

// Site is an embedded Confluence site, one SQLite file.
type Site struct {
	db   *sql.DB
	path string
	id   string

	blobOnce sync.Once
	blobStmt *sql.Stmt // a blob's size and chunks, prepared once: export reads every blob
	blobErr  error
}

// ErrNotSite is returned for a file that is not an embedded ferry site.
var ErrNotSite = errors.New("not a ferry embedded site")

// Open opens an existing site to read it, as a source: a missing file is
// an error, and the file is opened read-only, so a site on read-only media,
// or one the user may only read, can be exported and compared. Only a site
// whose schema is older than this ferry's is opened for writing, to bring
// it up to date.
func Open(path string) (*Site, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open site %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("open site %s: is a directory, want a SQLite file", path)
	}
	s, err := openReadOnly(path)
	if !errors.Is(err, errOutdated) {
		return s, err
	}
	if s, err = OpenExisting(path); err != nil {
		return nil, fmt.Errorf("%w (its schema is older than this ferry's, and upgrading it needs write access: copy it somewhere writable)", err)
	}
	return s, nil
}

// OpenExisting opens an existing site to change it in place (generate
// --evolve).
func OpenExisting(path string) (*Site, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open site %s: %w", path, err)
	}
	return open(path, false, readCache)
}

var errOutdated = errors.New("schema older than this ferry's")

// noMutex opens connections without SQLite's own lock on each one
// (SQLITE_OPEN_NOMUTEX; the driver's default is FULLMUTEX): database/sql
// never uses a connection from two goroutines at once, so the lock only
// cost time, 2% of an export's CPU at 40,000 pages.
const noMutex = "&_mutex=no"

// fileURI is path as a file: URI, escaping what URIs give meaning to, so
// any path works.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// openReadOnly opens a site without writing to it. A site in WAL mode needs
// its -shm index, which SQLite creates beside it; where it cannot (a
// read-only folder), the file is opened as immutable, which is right as
// long as nothing writes it meanwhile, and only when no -wal file holds
// changes that are not in the file yet.
func openReadOnly(path string) (*Site, error) {
	dsn := fileURI(path) + "?mode=ro" + noMutex + "&_busy_timeout=10000&_txlock=deferred" + fmt.Sprintf("&_cache_size=-%d", readCache>>10)
	var firstErr error
	for i, dsn := range []string{dsn, dsn + "&immutable=1"} {
		if i > 0 {
			if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
				return nil, fmt.Errorf("open site %s: %w; its %s-wal file holds changes that reading it without write access would miss: open it once with write access, or copy it with its -wal file somewhere writable", path, firstErr, path)
			}
		}
		db, err := sql.Open("sqlite3", dsn)
		if err != nil {
			return nil, fmt.Errorf("open site %s: %w", path, err)
		}
		s := &Site{db: db, path: path}
		err = s.check()
		if err == nil || errors.Is(err, ErrNotSite) || errors.Is(err, errOutdated) {
			if err != nil {
				db.Close()
				s = nil
			}
			return s, err
		}
		db.Close()
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Page caches: a source is read in order and needs little; a destination
// looks up ids all over a growing file, and with SQLite's default of 2 MiB
// every lookup in a site of gigabytes re-reads its B-tree pages from the OS.
// Since schema 7 keeps bodies and blobs out of the keyed trees, 32 MiB
// imported as fast as 64 did (400,000 pages: 240 against 244 s), and 16 as
// fast as 32 at 40,000 pages (16.8-17.4 against 16.8-18.7 s). The cache is
// filled by any import big enough, so it is memory every import pays: with
// 16 MiB the bench's increment into a 400,000-page copy peaks at 100 MB
// against 122, as it does into a 40,000-page one (98-102 MB).
const (
	readCache  = 2 << 20
	writeCache = 16 << 20
)

// Create creates a new, empty site at path, which must not exist.
func Create(path string) (*Site, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("create site %s: the file exists", path)
	}
	return open(path, true, writeCache)
}

// OpenOrCreate opens the site at path, creating it if it does not exist:
// what a destination does.
func OpenOrCreate(path string) (*Site, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return open(path, true, writeCache)
	case err != nil:
		return nil, fmt.Errorf("open site %s: %w", path, err)
	case st.IsDir():
		return nil, fmt.Errorf("open site %s: is a directory, want a SQLite file", path)
	}
	return open(path, false, writeCache)
}

func open(path string, create bool, cache int) (*Site, error) {
	dsn := fileURI(path) + "?_foreign_keys=on" + noMutex + "&_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL&_txlock=immediate" +
		fmt.Sprintf("&_cache_size=-%d", cache>>10)
	if !create {
		dsn += "&mode=rw"
	} else if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("create site %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open site %s: %w", path, err)
	}
	s := &Site{db: db, path: path}
	if err := s.migrate(create); err != nil {
		db.Close()
		if create {
			os.Remove(path)
		}
		return nil, err
	}
	return s, nil
}

// migrate brings the schema up to date and reads the site's id.
func (s *Site) migrate(create bool) error {
	version, err := s.schemaVersion(create)
	if err != nil {
		return err
	}
	if version < len(migrations) {
		if err := s.applyMigrations(version); err != nil {
			return err
		}
	}
	return s.readID()
}

// check checks, without writing, that the schema is this ferry's, and
// reads the site's id.
func (s *Site) check() error {
	version, err := s.schemaVersion(false)
	if err != nil {
		return err
	}
	if version < len(migrations) {
		return fmt.Errorf("open site %s: schema version %d: %w", s.path, version, errOutdated)
	}
	return s.readID()
}

// schemaVersion reads the schema's version, refusing a file that is not a
// site or is newer than this ferry.
func (s *Site) schemaVersion(create bool) (int, error) {
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return 0, fmt.Errorf("open site %s: not a SQLite file (%w)", s.path, ErrNotSite)
		}
		return 0, fmt.Errorf("open site %s: %w", s.path, err)
	}
	if version == 0 && !create {
		var tables int
		s.db.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&tables)
		if tables > 0 {
			return 0, fmt.Errorf("open site %s: a SQLite file without ferry's tables (%w)", s.path, ErrNotSite)
		}
	}
	if version > len(migrations) {
		return 0, fmt.Errorf("open site %s: schema version %d is newer than this ferry's %d: upgrade ferry", s.path, version, len(migrations))
	}
	return version, nil
}

func (s *Site) readID() error {
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'site_id'`).Scan(&s.id); err != nil {
		return fmt.Errorf("open site %s: no site id (%w)", s.path, ErrNotSite)
	}
	return nil
}

// applyMigrations applies the migrations after version, each in its own
// transaction, on one connection with foreign keys off: a migration that
// rebuilds a table (SQLite cannot change a CHECK in place) drops the old
// one while other tables refer to it. Foreign keys are checked before
// each commit, and turned back on.
func (s *Site) applyMigrations(version int) error {
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
	for v := version; v < len(migrations); v++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		fail := func(err error) error {
			tx.Rollback()
			return fmt.Errorf("migrate site %s to schema %d: %w", s.path, v+1, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			return fail(err)
		}
		if v == 0 {
			if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES ('site_id', ?), ('rev', '0')`, uuid.NewString()); err != nil {
				return fail(err)
			}
		}
		var broken int
		if err := tx.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&broken); err != nil || broken > 0 {
			if err == nil {
				err = fmt.Errorf("%d rows refer to rows that are not there", broken)
			}
			return fail(err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			return fail(err)
		}
		if err := tx.Commit(); err != nil {
			return fail(err)
		}
	}
	return nil
}

// ID is the site's id, made when it was created.
func (s *Site) ID() string { return s.id }

// Path is the site's file.
func (s *Site) Path() string { return s.path }

// Rev is the site's current revision.
func (s *Site) Rev(ctx context.Context) (int64, error) {
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'rev'`).Scan(&v); err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// Close closes the site.
func (s *Site) Close() error {
	if s.blobStmt != nil {
		s.blobStmt.Close()
	}
	return s.db.Close()
}

// DB exposes the database for tests and tools that query it directly.
func (s *Site) DB() *sql.DB { return s.db }

// Update runs fn in one transaction that takes the next revision. at and
// actor are when and by whom the changes were made (recorded as they are,
// so a generated site's history is the same for the same seed).
func (s *Site) Update(ctx context.Context, at time.Time, actor string, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update site %s: %w", s.path, err)
	}
	t := &Tx{tx: tx, ctx: ctx, at: fmtTime(at), actor: actor, stmts: map[string]*sql.Stmt{}}
	defer t.closeStmts()
	var rev string
	if err := tx.QueryRowContext(ctx, `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev' RETURNING value`).Scan(&rev); err != nil {
		tx.Rollback()
		return fmt.Errorf("update site %s: %w", s.path, err)
	}
	t.rev, _ = strconv.ParseInt(rev, 10, 64)
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update site %s: commit: %w", s.path, err)
	}
	return nil
}

// timeLayout sorts as text and keeps microseconds, what archives keep.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a time the site wrote in timeLayout; anything else is
// read as time.Parse reads it. The fixed-width path is for export, which
// reads every row's times: time.Parse was a twentieth of its reading.
func parseTime(s string) time.Time {
	if t, ok := parseLayout(s); ok {
		return t
	}
	t, _ := time.Parse(timeLayout, s)
	return t
}

// parseLayout parses exactly timeLayout, rejecting what time.Parse would.
func parseLayout(s string) (time.Time, bool) {
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	micro, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC)
	if t.Day() != day { // past the month's end: time.Parse refuses it
		return time.Time{}, false
	}
	return t, true
}

// createPrivate creates an empty file that only its owner may read, as
// archives are: a site holds the same personal data. SQLite gives its
// -wal and -shm files the same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
