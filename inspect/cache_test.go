package inspect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"

	"filippo.io/age"
)

// cachedOpen opens path through the cache in dir.
func cachedOpen(t *testing.T, dir string, paths ...string) *Inspector {
	t.Helper()
	in, err := OpenConfig(ctx, Config{CacheDir: dir}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// entries lists the cache's complete entries.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	ds, _ := os.ReadDir(dir)
	for _, d := range ds {
		if _, err := os.Stat(filepath.Join(dir, d.Name(), cacheEntryFile)); err == nil {
			out = append(out, d.Name())
		}
	}
	return out
}

func summaryOf(t *testing.T, in *Inspector) *Summary {
	t.Helper()
	defer in.Close()
	s, err := in.Summarize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The first open through the cache fills it; the next is served from it,
// reading no segment from the archive; both answer as an open without it,
// for one archive and for a chain.
func TestCacheAnswersAsTheArchive(t *testing.T) {
	for name, paths := range map[string][]string{
		"generated":  {generated(t)},
		"golden-1.0": {filepath.Join(testdataDir, "golden-1.0.ferry")},
		"signed":     {filepath.Join(testdataDir, "golden-1.2.ferry")},
	} {
		t.Run(name, func(t *testing.T) {
			fresh, err := Open(ctx, paths...)
			if err != nil {
				t.Fatal(err)
			}
			want := summaryOf(t, fresh)
			cache := t.TempDir()
			if got := summaryOf(t, cachedOpen(t, cache, paths...)); !reflect.DeepEqual(got, want) {
				t.Fatalf("first open through the cache:\n%+v\nwant\n%+v", got, want)
			}
			if n := len(entries(t, cache)); n != 1 {
				t.Fatalf("%d cache entries after the first open, want 1", n)
			}
			in := cachedOpen(t, cache, paths...)
			for _, s := range in.segments {
				if !strings.HasPrefix(s.path, cache) {
					t.Errorf("second open read segment %s, not the cached copy", s.path)
				}
			}
			if got := summaryOf(t, in); !reflect.DeepEqual(got, want) {
				t.Fatalf("second open, from the cache:\n%+v\nwant\n%+v", got, want)
			}
			for _, e := range entries(t, cache) {
				if st, err := os.Stat(filepath.Join(cache, e)); err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("cache entry: %v, mode %v; want 0700", err, st.Mode().Perm())
				}
			}
		})
	}
}

// The summary is computed once per entry: the next call answers without
// starting DuckDB, with the same summary, and a summary.json that another
// ferry build wrote (another executable stamp) is computed again.
func TestCacheRemembersTheSummary(t *testing.T) {
	path := filepath.Join(testdataDir, "golden-1.1.ferry")
	fresh, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := summaryOf(t, fresh)
	cache := t.TempDir()
	summaryOf(t, cachedOpen(t, cache, path))

	in := cachedOpen(t, cache, path)
	got := summaryOf(t, in)
	if in.db != nil {
		t.Error("the remembered summary started DuckDB")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("remembered summary:\n%+v\nwant\n%+v", got, want)
	}
	in = cachedOpen(t, cache, path)
	if n := count(t, in, `SELECT count(*) FROM events`); n != want.Events {
		t.Errorf("a query after the lazy open counted %d events, want %d", n, want.Events)
	}
	in.Close()

	memo := filepath.Join(cache, entries(t, cache)[0], cacheSummaryFile)
	data, err := os.ReadFile(memo)
	if err != nil {
		t.Fatal(err)
	}
	var r rememberedSummary
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	r.Ferry.ModNano++ // as if another build of ferry wrote it
	r.Summary.Events = -1
	data, _ = json.Marshal(r)
	if err := os.WriteFile(memo, data, 0o600); err != nil {
		t.Fatal(err)
	}
	in = cachedOpen(t, cache, path)
	if got := summaryOf(t, in); got.Events != want.Events || in.db == nil {
		t.Errorf("another ferry's summary was used (events %d, DuckDB started: %v)", got.Events, in.db != nil)
	}
}

// A cached file that changed (here, overwritten by a reviewer's COPY,
// which DuckDB allows in the entry's folder) is noticed and the entry built
// again from the archive.
func TestCacheEntryThatChangedIsRebuilt(t *testing.T) {
	path := filepath.Join(testdataDir, "golden-1.1.ferry")
	cache := t.TempDir()
	in := cachedOpen(t, cache, path)
	want := count(t, in, `SELECT count(*) FROM events`)
	seg := in.segments[0].path
	if !strings.HasPrefix(seg, cache) {
		t.Fatalf("golden-1.1 was not cached: %s", seg)
	}
	rows, err := in.Query(ctx, `COPY (SELECT 1 AS seq) TO '`+sqlString(seg)+`' (FORMAT parquet)`)
	if err == nil {
		rows.Close()
	}
	in.Close()
	if err != nil {
		t.Logf("DuckDB refused the COPY (%v); changing the file directly", err)
		if err := os.WriteFile(seg, []byte("not parquet"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in = cachedOpen(t, cache, path)
	defer in.Close()
	if got := count(t, in, `SELECT count(*) FROM events`); got != want {
		t.Fatalf("after the cached segment changed: %d events, want %d", got, want)
	}
}

// An encrypted archive is never cached: its segments would lie decrypted
// on disk.
func TestCacheKeepsNothingOfEncryptedArchives(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 5, Spaces: 1, Pages: 10, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: site}, path, export.Options{Archive: []archive.Option{archive.WithRecipients(id.Recipient())}}); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	in, err := OpenConfig(ctx, Config{CacheDir: cache, Read: []archive.ReadOption{archive.WithIdentities(id)}}, path)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, in, `SELECT count(*) FROM pages`); n != 10 {
		t.Errorf("%d pages, want 10", n)
	}
	in.Close()
	if ds, _ := os.ReadDir(cache); len(ds) != 0 {
		t.Fatalf("the cache holds %d entries of an encrypted archive", len(ds))
	}
}

// Past its size, the cache drops the least recently used entries.
func TestCacheDropsLeastRecentlyUsed(t *testing.T) {
	cache := t.TempDir()
	a, b := filepath.Join(testdataDir, "golden-1.0.ferry"), filepath.Join(testdataDir, "golden-1.1.ferry")
	for _, p := range []string{a, b} {
		in, err := OpenConfig(ctx, Config{CacheDir: cache, CacheBytes: 1}, p)
		if err != nil {
			t.Fatal(err)
		}
		in.Close()
	}
	got := entries(t, cache)
	want, _ := cacheKey(cache, []string{b})
	if len(got) != 1 || got[0] != want {
		t.Fatalf("cache holds %v, want only the newest entry %s", got, want)
	}
}

// Reviewers opening one archive at once all get their answers, whoever
// builds its entry.
func TestCacheOpenedConcurrently(t *testing.T) {
	path := generated(t)
	cache := t.TempDir()
	var wg sync.WaitGroup
	counts := make([]int64, 4)
	for i := range counts {
		wg.Go(func() {
			in, err := OpenConfig(ctx, Config{CacheDir: cache}, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer in.Close()
			counts[i] = count(t, in, `SELECT count(*) FROM pages`)
		})
	}
	wg.Wait()
	for i, n := range counts {
		if n != 200 {
			t.Errorf("reviewer %d: %d pages, want 200", i, n)
		}
	}
	if n := len(entries(t, cache)); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

// An archive's identity is remembered with its file's stat, and read again
// once the file was written to, even when its size and time were kept.
func TestIdentityRememberedUntilTheFileChanges(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(t.TempDir(), "a.ferry")
	data, err := os.ReadFile(filepath.Join(testdataDir, "golden-1.1.ferry"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, want, err := identify(root, path)
	if err != nil {
		t.Fatal(err)
	}
	memos, _ := filepath.Glob(filepath.Join(root, identityDir, "*.json"))
	if len(memos) != 1 {
		t.Fatalf("remembered %d identities, want 1", len(memos))
	}
	// A planted identity is believed while the file is as it was...
	var k knownIdentity
	raw, _ := os.ReadFile(memos[0])
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	k.Identity = "planted"
	raw, _ = json.Marshal(k)
	os.WriteFile(memos[0], raw, 0o600)
	if _, id, _ := identify(root, path); id != "planted" {
		t.Fatalf("identity %q: the remembered one was not used", id)
	}
	// ...and not once it was rewritten, size and modification time kept.
	st, _ := os.Stat(path)
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, st.ModTime(), st.ModTime())
	if _, id, _ := identify(root, path); id != want {
		t.Fatalf("identity %q after the file was rewritten, want %s", id, want)
	}
}

// Leave, for a process about to exit, removes the temporary folder as
// Close does, and a query answered before it stays answered: the cached
// database, read-only, is not left half-written for the next open.
func TestLeaveRemovesTheTemporaryFolder(t *testing.T) {
	dir := t.TempDir()
	path := generated(t)
	for range 2 { // fill the cache, then read from it
		in := cachedOpen(t, dir, path)
		var n int
		rows, err := in.Query(ctx, `SELECT count(*) FROM pages`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			rows.Scan(&n)
		}
		rows.Close()
		if n == 0 {
			t.Fatal("no pages")
		}
		tmp := in.dir
		if err := in.Leave(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Fatalf("temporary folder %s is still there (%v)", tmp, err)
		}
		in.db.Close() // this test's process goes on
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(got))
	}
}
