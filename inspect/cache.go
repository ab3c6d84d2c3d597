package inspect

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"ferry/archive"
)

// The cache keeps what opening an archive costs, the checked copies of its
// event segments and a DuckDB database holding the views over them, so that
// a reviewer's next call starts as fast as DuckDB over plain files does.
//
// An entry is named by the archives' identities (archive.Identify: the
// SHA-256 of their header and manifest, which list every member's SHA-256),
// ferry's views and the DuckDB library, so a different archive, or a ferry
// with other views, never finds it. Its files are checked against their
// recorded size and time on every use, and an entry that does not match is
// built again. The identity itself is remembered by the archive's stat
// (cache_ids.go). Encrypted archives are never cached: their segments would
// lie decrypted on disk after the call. The folder is its owner's alone.
//
// What a cache entry cannot know is whether the archive file was damaged
// after it was filled: 'ferry verify' checks the file itself.

// DefaultCacheBytes bounds the cache: the least recently used entries are
// removed past it, the newest entry always kept.
const DefaultCacheBytes = 4 << 30

const (
	cacheEntryFile = "entry.json"
	cacheDBFile    = "views.duckdb"
)

var errNoCache = errors.New("inspect: not cached")

// cacheEntry is entry.json: what an open needs besides the files.
type cacheEntry struct {
	Header   archive.Header    `json:"header"`
	Manifest *archive.Manifest `json:"manifest"`
	Segments []cachedSegment   `json:"segments"`
	Files    []cachedFile      `json:"files"`
}

type cachedSegment struct {
	Name    string `json:"name"` // in the entry's folder
	Archive string `json:"archive"`
	Typed   bool   `json:"typed"`
}

type cachedFile struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
}

// cacheKey names the entry for a chain of archives, or fails with
// errNoCache when one cannot be cached.
func cacheKey(root string, paths []string) (string, error) {
	h := sha256.New()
	io.WriteString(h, "ferry inspect cache 1\x00"+duckdbVersion()+"\x00")
	for _, stmt := range setupSQL(eventsView([]string{"typed"}, []string{"untyped"})) {
		io.WriteString(h, stmt+"\x00")
	}
	var prev string
	for i, p := range paths {
		hdr, id, err := identify(root, p)
		if err != nil || hdr.Encrypted() || i > 0 && hdr.ParentID != prev {
			return "", errNoCache // opened the long way, which says what is wrong
		}
		prev = hdr.ArchiveID
		io.WriteString(h, id+"\x00")
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// duckdbVersion names the DuckDB library built in: its database files are
// read by the same library only.
func duckdbVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if strings.HasPrefix(d.Path, "github.com/duckdb/") {
				return d.Path + "@" + d.Version
			}
		}
	}
	return "unknown"
}

// openCached opens paths through the cache in cfg.CacheDir, filling it
// first when the entry is missing or does not match its files.
func openCached(ctx context.Context, cfg Config, paths []string) (*Inspector, error) {
	key, err := cacheKey(cfg.CacheDir, paths)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("inspect cache: %w", err)
	}
	dir := filepath.Join(cfg.CacheDir, key)
	e, err := loadEntry(dir)
	if err == nil {
		return openEntry(ctx, cfg, dir, e, paths)
	}
	if !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(dir) // its files changed since it was built
	}
	if err := buildEntry(ctx, cfg, dir, paths); err != nil {
		return nil, errNoCache // the long way says what is wrong, or reads it without the cache
	}
	pruneCache(cfg.CacheDir, key, cfg.CacheBytes)
	if e, err = loadEntry(dir); err != nil {
		return nil, fmt.Errorf("inspect cache: the entry just built does not read back: %w", err)
	}
	return openEntry(ctx, cfg, dir, e, paths)
}

// loadEntry reads an entry and checks its files are as it recorded them.
func loadEntry(dir string) (*cacheEntry, error) {
	data, err := os.ReadFile(filepath.Join(dir, cacheEntryFile))
	if err != nil {
		return nil, err
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	if e.Manifest == nil || len(e.Files) == 0 {
		return nil, errors.New("entry lists no files")
	}
	for _, f := range e.Files {
		st, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil {
			return nil, err
		}
		if st.Size() != f.Size || st.ModTime().UnixNano() != f.ModTime {
			return nil, fmt.Errorf("%s changed since it was cached", f.Name)
		}
	}
	return &e, nil
}

// buildEntry opens the archives the long way into the entry's new folder
// and writes the views, over the segments' final paths, into a database
// file there. entry.json comes last, by rename: without it the folder is
// an entry being built, by this process or another, and is not used. A
// folder left without it for an hour is a dead process's, and removed.
func buildEntry(ctx context.Context, cfg Config, dir string, paths []string) (err error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		st, serr := os.Stat(dir)
		if serr != nil || time.Since(st.ModTime()) < time.Hour {
			return errNoCache // being built by another process: read the long way this time
		}
		os.RemoveAll(dir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return errNoCache
		}
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	in := &Inspector{dir: dir, paths: paths, read: cfg.Read}
	typed, untyped, err := in.copySegments(paths)
	if err != nil {
		return err
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, cacheDBFile))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	for _, stmt := range setupSQL(eventsView(typed, untyped)) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return fmt.Errorf("inspect: set up views: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	e := cacheEntry{Header: in.Header, Manifest: in.Manifest}
	for _, s := range in.segments {
		e.Segments = append(e.Segments, cachedSegment{Name: filepath.Base(s.path), Archive: s.archive, Typed: s.typed})
	}
	names := []string{cacheDBFile}
	for _, s := range e.Segments {
		names = append(names, s.Name)
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.Chmod(p, 0o600); err != nil { // DuckDB creates files readable by all
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		e.Files = append(e.Files, cachedFile{Name: n, Size: st.Size(), ModTime: st.ModTime().UnixNano()})
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeByRename(filepath.Join(dir, cacheEntryFile), data)
}

// openEntry opens an entry's database read-only, in a private folder for
// DuckDB's spills and results, and locks DuckDB down to the two folders.
func openEntry(ctx context.Context, cfg Config, dir string, e *cacheEntry, paths []string) (*Inspector, error) {
	tmp, err := os.MkdirTemp("", "ferry-inspect-")
	if err != nil {
		return nil, err
	}
	in := &Inspector{dir: tmp, entry: dir, paths: paths, read: cfg.Read, Header: e.Header, Manifest: e.Manifest}
	for _, s := range e.Segments {
		in.segments = append(in.segments, segmentFile{path: filepath.Join(dir, s.Name), archive: s.Archive, typed: s.Typed})
	}
	now := time.Now()
	os.Chtimes(dir, now, now) // recently used, for pruneCache
	// DuckDB starts on the first query (about 15 ms of a call with its
	// settings and close): a remembered summary needs none.
	in.openDB = func(ctx context.Context) (err error) {
		if in.db, err = sql.Open("duckdb", filepath.Join(dir, cacheDBFile)+"?access_mode=READ_ONLY"); err != nil {
			return err
		}
		return in.configure(ctx, cfg.MemoryLimit, dir)
	}
	return in, nil
}

// pruneCache removes the least recently used entries past limit bytes
// (DefaultCacheBytes when 0), never keep, nor one being built.
func pruneCache(root, keep string, limit int64) {
	if limit <= 0 {
		limit = DefaultCacheBytes
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type entry struct {
		name  string
		used  time.Time
		bytes int64
	}
	var all []entry
	var total int64
	for _, d := range ents {
		info, err := d.Info()
		if err != nil || !d.IsDir() || d.Name() == identityDir {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, d.Name(), cacheEntryFile)); err != nil && time.Since(info.ModTime()) < time.Hour {
			continue // being built
		}
		e := entry{name: d.Name(), used: info.ModTime()}
		filepath.WalkDir(filepath.Join(root, d.Name()), func(_ string, f os.DirEntry, err error) error {
			if err == nil && !f.IsDir() {
				if fi, err := f.Info(); err == nil {
					e.bytes += fi.Size()
				}
			}
			return nil
		})
		all = append(all, e)
		total += e.bytes
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range all {
		if total <= limit {
			break
		}
		if e.name == keep {
			continue
		}
		if os.RemoveAll(filepath.Join(root, e.name)) == nil {
			total -= e.bytes
		}
	}
}
