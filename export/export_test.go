package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/archive"
	"ferry/embedded"
	"ferry/generate"
	events "ferry/internal/replay"
	"ferry/model"
)

var ctx = context.Background()

// newSite generates a site small enough for tests but with every kind.
func newSite(t testing.TB, dir string, seed int64) *embedded.Site {
	t.Helper()
	site, err := embedded.Create(filepath.Join(dir, "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	if err := generate.Site(ctx, site, generate.Options{Users: 80, Spaces: 6, Pages: 300, AttachmentBytes: 1 << 20, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return site
}

func exportTo(t testing.TB, site *embedded.Site, out string, o Options) *Summary {
	t.Helper()
	sum, err := Run(ctx, &EmbeddedSource{Site: site}, out, o)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// replay applies an archive's events to state, checking the ordering
// guarantee on every event, and returns the archive's header.
func replay(t testing.TB, path string, state *model.State) archive.Header {
	t.Helper()
	f, err := archive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = events.Each(f, nil, func(seq int64, c *model.Change) error {
		if err := state.Apply(c); err != nil {
			return fmt.Errorf("%s seq %d: ordering guarantee broken: %w", filepath.Base(path), seq, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f.Header()
}

func TestFullExportHasEveryKindInOrder(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 1)
	out := filepath.Join(dir, "full.ferry")
	sum := exportTo(t, site, out, Options{})
	if rep := archive.Verify(mustOpen(t, out)); !rep.Intact {
		t.Fatalf("verify: %v", rep.Problems)
	}
	state := model.NewState()
	replay(t, out, state)
	counts := state.Counts()
	for _, kind := range []string{"user", "group", "membership", "app", "app_data", "space", "space_permission", "content",
		"comment", "attachment", "label", "restriction", "property", "like"} {
		if counts[kind] == 0 {
			t.Errorf("no %s in the export (counts %v)", kind, counts)
		}
	}
	if sum.Blobs == 0 || sum.ByKind["page"] == 0 || sum.ByKind["blogpost"] == 0 {
		t.Errorf("summary %+v", sum)
	}
}

func mustOpen(t testing.TB, path string) io.Reader {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestExportIsDeterministic(t *testing.T) {
	a := exportTo(t, newSite(t, t.TempDir(), 7), filepath.Join(t.TempDir(), "a.ferry"), Options{})
	site := newSite(t, t.TempDir(), 7) // the same seed: the same site
	b := exportTo(t, site, filepath.Join(t.TempDir(), "b.ferry"), Options{})
	c := exportTo(t, site, filepath.Join(t.TempDir(), "c.ferry"), Options{})
	if a.Digest != b.Digest || b.Digest != c.Digest || a.Events != c.Events {
		t.Fatalf("digests differ: %s %s %s", a.Digest, b.Digest, c.Digest)
	}
	if b.ArchiveID == c.ArchiveID {
		t.Error("two exports share an archive id")
	}
}

// TestIncrementsEqualAFreshFullExport: a full archive and its increments
// replay to exactly the state of a fresh full export of the evolved site.
func TestIncrementsEqualAFreshFullExport(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 3)
	chain := []string{filepath.Join(dir, "0.ferry")}
	exportTo(t, site, chain[0], Options{})
	for i, seed := range []int64{11, 12, 13} {
		if err := generate.Evolve(ctx, site, 250, seed); err != nil {
			t.Fatal(err)
		}
		next := filepath.Join(dir, string(rune('1'+i))+".ferry")
		sum := exportTo(t, site, next, Options{Since: chain[len(chain)-1]})
		if sum.Events == 0 {
			t.Fatalf("increment %d is empty", i+1)
		}
		chain = append(chain, next)
	}
	folded := model.NewState()
	var parent string
	var lastSeq int64
	for _, path := range chain {
		h := replay(t, path, folded)
		if h.ParentID != parent {
			t.Errorf("%s: parent %q, want %q", filepath.Base(path), h.ParentID, parent)
		}
		parent = h.ArchiveID
		f, _ := archive.Open(path)
		if m := f.Manifest().Events; m.Count > 0 && m.FirstSeq != lastSeq+1 {
			t.Errorf("%s: seq starts at %d, want %d", filepath.Base(path), m.FirstSeq, lastSeq+1)
		} else if m.Count > 0 {
			lastSeq = m.LastSeq
		}
		f.Close()
	}
	fresh := model.NewState()
	exportTo(t, site, filepath.Join(dir, "fresh.ferry"), Options{})
	replay(t, filepath.Join(dir, "fresh.ferry"), fresh)
	if folded.Digest() != fresh.Digest() {
		t.Fatalf("full + increments differ from a fresh full export:\n%s", strings.Join(folded.Diff(fresh, 10), "\n"))
	}
}

func TestSpacesFilter(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 4)
	out := filepath.Join(dir, "one.ferry")
	sum := exportTo(t, site, out, Options{Spaces: []string{"spb"}}) // keys compare case-insensitively
	state := model.NewState()
	replay(t, out, state) // every reference resolves: referenced users and groups are in
	f, _ := archive.Open(out)
	defer f.Close()
	it := f.Events()
	defer it.Close()
	spaces := map[string]bool{}
	for it.Next() {
		spaces[it.Event().Space] = true
	}
	if len(spaces) != 2 || !spaces["SPB"] || !spaces[""] {
		t.Fatalf("events in spaces %v, want only SPB and site-wide ones", spaces)
	}
	full := exportTo(t, site, filepath.Join(dir, "all.ferry"), Options{})
	if n := state.Counts()["space"]; n != 1 || sum.ByKind["page"] >= full.ByKind["page"] || sum.ByKind["user"] == 0 {
		t.Errorf("filtered export: %d spaces, %d of %d page events, %d users", n, sum.ByKind["page"], full.ByKind["page"], sum.ByKind["user"])
	}
	_, err := Run(ctx, &EmbeddedSource{Site: site}, filepath.Join(dir, "x.ferry"), Options{Spaces: []string{"NOPE"}})
	if err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Fatalf("unknown space key: %v", err)
	}
}

// failingSource fails after some changes, like a source that goes away.
type failingSource struct {
	Source
	after int
}

func (f *failingSource) Changes(ctx context.Context, since string, spaces []string, emit func(*model.Change) error) (string, error) {
	n := 0
	return f.Source.Changes(ctx, since, spaces, func(c *model.Change) error {
		if n++; n > f.after {
			return errors.New("connection reset by peer")
		}
		return emit(c)
	})
}

func TestFailedExportLeavesNoArchive(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 5)
	out := filepath.Join(dir, "out", "x.ferry")
	os.Mkdir(filepath.Dir(out), 0o755)
	_, err := Run(ctx, &failingSource{Source: &EmbeddedSource{Site: site}, after: 500}, out, Options{})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 0 {
		t.Fatalf("a failed export left %v behind", entries)
	}
}

// TestDamagedBlobStopsTheExport: a blob whose bytes no longer match its
// digest fails the export, naming the blob, and leaves no archive.
func TestDamagedBlobStopsTheExport(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 5)
	var digest string
	if err := site.DB().QueryRow(`SELECT digest FROM blobs ORDER BY digest LIMIT 1`).Scan(&digest); err != nil {
		t.Fatal(err)
	}
	if _, err := site.DB().Exec(`UPDATE blob_chunks SET data = x'00' || substr(data, 2) WHERE digest = ? AND n = 0`, digest); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "x.ferry")
	os.Mkdir(filepath.Dir(out), 0o755)
	_, err := Run(ctx, &EmbeddedSource{Site: site}, out, Options{})
	if err == nil || !strings.Contains(err.Error(), "blob "+digest) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("err = %v, want it to name blob %s as damaged", err, digest)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("a failed export left %v behind", entries)
	}
}

func TestBadSources(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.db")
	os.WriteFile(notSQLite, []byte("these are my notes, not a database at all..."), 0o644)
	for arg, want := range map[string]string{
		filepath.Join(dir, "missing.db"): "no such file",
		notSQLite:                        "not a SQLite file",
		"site.sqlite":                    "PATH.db or local:PATH",
	} {
		_, _, err := OpenSource(ctx, arg, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenSource(%s) = %v, want it to say %q", arg, err, want)
		}
	}
}

func TestIncrementFromAnotherSiteIsRefused(t *testing.T) {
	a := newSite(t, t.TempDir(), 1)
	b := newSite(t, t.TempDir(), 1)
	prev := filepath.Join(t.TempDir(), "a.ferry")
	exportTo(t, a, prev, Options{})
	_, err := Run(ctx, &EmbeddedSource{Site: b}, filepath.Join(t.TempDir(), "b.ferry"), Options{Since: prev})
	if err == nil || !strings.Contains(err.Error(), "was exported from site") {
		t.Fatalf("err = %v", err)
	}
}

// TestFilteredIncrementsResolve: with --spaces, each increment carries the
// users and groups that what changed refers to, even when those rows did
// not change, so replaying the chain never meets an unknown reference; and
// the space's own content ends as a fresh filtered export has it.
func TestFilteredIncrementsResolve(t *testing.T) {
	dir := t.TempDir()
	site := newSite(t, dir, 6)
	spaces := []string{"SPC"}
	prev := filepath.Join(dir, "0.ferry")
	exportTo(t, site, prev, Options{Spaces: spaces})
	folded := model.NewState()
	replay(t, prev, folded)
	for i, seed := range []int64{21, 22} {
		if err := generate.Evolve(ctx, site, 300, seed); err != nil {
			t.Fatal(err)
		}
		next := filepath.Join(dir, string(rune('1'+i))+".ferry")
		sum := exportTo(t, site, next, Options{Since: prev}) // inherits the filter
		if len(sum.Spaces) != 1 || sum.Spaces[0] != "SPC" {
			t.Fatalf("increment covers spaces %v, want the parent's [SPC]", sum.Spaces)
		}
		replay(t, next, folded)
		prev = next
	}
	fresh := model.NewState()
	exportTo(t, site, filepath.Join(dir, "fresh.ferry"), Options{Spaces: spaces})
	replay(t, filepath.Join(dir, "fresh.ferry"), fresh)
	for _, kind := range []string{"space", "content", "comment", "attachment", "label", "restriction", "property", "like", "space_permission"} {
		if a, b := folded.Counts()[kind], fresh.Counts()[kind]; a != b {
			t.Errorf("%s: %d after the chain, %d in a fresh export", kind, a, b)
		}
	}
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, filepath.Join(dir, "x.ferry"), Options{Since: prev, Spaces: []string{"SPA"}}); err == nil {
		t.Error("an increment over other spaces than its parent's was accepted")
	}
}

// TestFilteredIncrementCarriesNewlyReferencedUser builds the case by hand:
// a user whose row never changes is referenced in the exported space only
// after the full export, by a new page.
func TestFilteredIncrementCarriesNewlyReferencedUser(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	err = site.Update(ctx, at, "", func(tx *embedded.Tx) error {
		for _, u := range []string{"ann", "bob"} {
			if err := tx.PutUser(model.User{AccountID: u, Email: u + "@example.com", DisplayName: u, Status: "active", AccountType: "atlassian"}); err != nil {
				return err
			}
		}
		for _, key := range []string{"ONE", "TWO"} {
			sp := model.Space{ID: "s-" + key, Key: key, Name: key, Type: "global", Status: "current", CreatedAt: at, Author: "ann"}
			if err := tx.CreateSpace(sp); err != nil {
				return err
			}
		}
		// bob works only in TWO.
		if err := tx.CreateContent(model.Content{ID: "p2", Type: "page", SpaceID: "s-TWO", Status: "current", CreatedAt: at, Author: "bob"}); err != nil {
			return err
		}
		return tx.AddVersion(model.Version{ContentID: "p2", Number: 1, Title: "Two", Body: "<p/>", Author: "bob", At: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full.ferry")
	exportTo(t, site, full, Options{Spaces: []string{"ONE"}})
	state := model.NewState()
	replay(t, full, state)
	if state.Has(model.Ref{Kind: "user", ID: "bob"}) {
		t.Fatal("bob is in the export of ONE before he is referenced there")
	}
	err = site.Update(ctx, at.Add(time.Hour), "bob", func(tx *embedded.Tx) error {
		if err := tx.CreateContent(model.Content{ID: "p1", Type: "page", SpaceID: "s-ONE", Status: "current", CreatedAt: at, Author: "bob"}); err != nil {
			return err
		}
		return tx.AddVersion(model.Version{ContentID: "p1", Number: 1, Title: "One", Body: "<p/>", Author: "bob", At: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(dir, "inc.ferry")
	exportTo(t, site, inc, Options{Since: full})
	replay(t, inc, state) // fails if bob is not in the increment
	if !state.Has(model.Ref{Kind: "user", ID: "bob"}) {
		t.Fatal("bob is missing after the increment")
	}
}
