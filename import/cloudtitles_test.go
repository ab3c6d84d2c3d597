package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/export"
	"ferry/model"
)

// titleClashes is a source with titles Cloud would refuse in one space:
// two blog posts of one title; a page renamed, in its second version, to
// another page's title; a third page of that title, with a child page and
// a comment.
func titleClashes(t *testing.T, dir string) string {
	t.Helper()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	step := func(fn func(tx *embedded.Tx) error) {
		at = at.Add(time.Hour)
		if err := src.Update(ctx, at, "u1", fn); err != nil {
			t.Fatal(err)
		}
	}
	version := func(tx *embedded.Tx, id string, n int, title string) error {
		return tx.AddVersion(model.Version{ContentID: id, Number: n, Title: title, Body: "<p>" + title + "</p>", Author: "u1", At: at})
	}
	content := func(tx *embedded.Tx, id, kind, parent string) error {
		return tx.CreateContent(model.Content{ID: id, Type: kind, SpaceID: "s1", ParentID: parent, Status: "current", CreatedAt: at, Author: "u1"})
	}
	step(func(tx *embedded.Tx) error {
		return errors.Join(tx.PutUser(model.User{AccountID: "u1", Email: "u1@example.com", DisplayName: "U One", Status: "active", AccountType: "atlassian"}),
			tx.CreateSpace(model.Space{ID: "s1", Key: "TT", Name: "Titles", Type: "global", Status: "current", CreatedAt: at}))
	})
	step(func(tx *embedded.Tx) error {
		return errors.Join(content(tx, "b1", "blogpost", ""), version(tx, "b1", 1, "News: the same"),
			content(tx, "p1", "page", ""), version(tx, "p1", 1, "Plan"),
			content(tx, "p2", "page", ""), version(tx, "p2", 1, "Draft"))
	})
	step(func(tx *embedded.Tx) error {
		return errors.Join(content(tx, "b2", "blogpost", ""), version(tx, "b2", 1, "News: the same"), version(tx, "p2", 2, "Plan"))
	})
	step(func(tx *embedded.Tx) error {
		return errors.Join(version(tx, "b2", 2, "News: the same"), content(tx, "p3", "page", ""), version(tx, "p3", 1, "Plan"),
			content(tx, "p4", "page", "p3"), version(tx, "p4", 1, "Child of the third plan"),
			tx.CreateComment(model.Comment{ID: "c1", ContainerID: "p3", Location: "footer", Status: "current", Author: "u1", CreatedAt: at}),
			tx.AddCommentVersion(model.Version{ContentID: "c1", Number: 1, Body: "<p>a comment</p>", Author: "u1", At: at}))
	})
	arch := filepath.Join(dir, "titles.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: src}, arch, export.Options{}); err != nil {
		t.Fatal(err)
	}
	return arch
}

// destTitles lists a destination's current titles of a kind.
func destTitles(t *testing.T, dest *embedded.Site, kind string) []string {
	t.Helper()
	return column(t, dest, `SELECT v.title FROM content c JOIN content_versions v ON v.content_id = c.id
		AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id) WHERE c.type = ? ORDER BY v.title`, kind)
}

// Titles Confluence Cloud refuses in a space are renamed by default,
// deterministically, reported, kept by later versions, and a re-run (with
// its journal or without) writes nothing. (Before the fix the import
// stopped at the second blog post with "A blogpost with this title already
// exists", after partial writes, and a re-run failed at the same place.)
func TestCloudTitleClashesAreRenamed(t *testing.T) {
	dir := t.TempDir()
	arch := titleClashes(t, dir)
	dest, c := cloudDest(t, 0)
	journal := filepath.Join(dir, "j.db")
	rep, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(destTitles(t, dest, "blogpost"), "|"), "News: the same|News: the same (copied)"; got != want {
		t.Errorf("blog posts %q, want %q", got, want)
	}
	if got, want := strings.Join(destTitles(t, dest, "page"), "|"), "Child of the third plan|Plan|Plan (copied 2)|Plan (copied)|Titles"; got != want {
		t.Errorf("pages %q, want %q", got, want)
	}
	if len(rep.Renamed) != 3 {
		t.Errorf("renamed: %q, want 3 lines", rep.Renamed)
	}
	for _, again := range []string{journal, filepath.Join(dir, "fresh-journal.db")} {
		rep, err := RunCloud(ctx, arch, c, again, Options{AllowMissingApps: true})
		if err != nil {
			t.Fatalf("re-run with %s: %v", filepath.Base(again), err)
		}
		if tot := rep.Totals(); tot.Created+tot.Updated != 0 {
			t.Errorf("re-run with %s wrote: %+v", filepath.Base(again), tot)
		}
	}
}

// With --on-conflict skip, content whose title is taken is left out with
// everything in it, and reported; with fail, the import stops saying which
// title and what to do.
func TestCloudTitleClashPolicies(t *testing.T) {
	dir := t.TempDir()
	arch := titleClashes(t, dir)
	dest, c := cloudDest(t, 0)
	rep, err := RunCloud(ctx, arch, c, filepath.Join(dir, "skip.db"), Options{AllowMissingApps: true, OnTitleConflict: Skip})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(destTitles(t, dest, "page"), "|"); got != "Plan|Plan (copied)|Titles" {
		t.Errorf("pages %q: want the third plan and its child left out, the renamed draft kept", got)
	}
	if got := strings.Join(destTitles(t, dest, "blogpost"), "|"); got != "News: the same" {
		t.Errorf("blog posts %q", got)
	}
	if n := rep.Skipped[titleSkipReason]; n < 5 {
		t.Errorf("%d events reported left out for their titles, want the blog post's 3 and the third plan's, its child's and its comment's", n)
	}
	if c := countRows(t, dest, `SELECT count(*) FROM comments`); c != 0 {
		t.Errorf("%d comments: the comment on the page left out was written", c)
	}

	_, c2 := cloudDest(t, 0)
	_, err = RunCloud(ctx, arch, c2, filepath.Join(dir, "fail.db"), Options{AllowMissingApps: true, OnTitleConflict: Fail})
	if err == nil || !strings.Contains(err.Error(), `the title "Plan" is taken`) || !strings.Contains(err.Error(), "--on-conflict rename") {
		t.Errorf("fail: %v", err)
	}
}

// A dry run into Cloud is the real run rehearsed: the same report (counts
// per kind, renames, users without accounts), while the site sees reads
// only and no journal is written. (Before the fix it stopped after the
// preflight, printed zeros, and wrote a journal.)
func TestCloudDryRunIsTheRealPlan(t *testing.T) {
	dir := t.TempDir()
	arch := titleClashes(t, dir)
	dest, c := cloudDest(t, 0)
	journal := filepath.Join(dir, "j.db")
	before, _ := dest.Rev(ctx)
	dry, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := dest.Rev(ctx); after != before {
		t.Fatalf("the dry run wrote to the site (revision %d → %d)", before, after)
	}
	if _, err := os.Stat(journal); err == nil {
		t.Fatal("the dry run wrote a journal")
	}
	real, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range real.KindNames() {
		if dry.Kinds[k] == nil || *dry.Kinds[k] != *real.Kinds[k] {
			t.Errorf("%s: dry run %+v, real %+v", k, dry.Kinds[k], *real.Kinds[k])
		}
	}
	if strings.Join(dry.Renamed, "\n") != strings.Join(real.Renamed, "\n") || len(real.Renamed) == 0 {
		t.Errorf("renames: dry run %q, real %q", dry.Renamed, real.Renamed)
	}
	if real.Totals().Created == 0 || dry.Totals().Created != real.Totals().Created {
		t.Errorf("created: dry run %d, real %d", dry.Totals().Created, real.Totals().Created)
	}
}
