package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/export"
	"ferry/generate"
	"ferry/model"
)

// tree lists a site's live pages and folders as TYPE TITLE > PARENT TITLE,
// trashed folders left out (Cloud cannot purge a folder: one deleted at
// the source stays in the destination's trash).
func tree(t *testing.T, site *embedded.Site) []string {
	t.Helper()
	return column(t, site, `SELECT c.type || ' ' || v.title || ' > ' || coalesce((SELECT pv.title FROM content_versions pv WHERE pv.content_id = c.parent_id
			ORDER BY pv.number DESC LIMIT 1), '') FROM content c JOIN content_versions v ON v.content_id = c.id
		AND v.number = (SELECT max(number) FROM content_versions WHERE content_id = c.id)
		WHERE c.deleted_rev IS NULL AND c.type IN ('page', 'folder') AND NOT (c.type = 'folder' AND c.status = 'trashed') ORDER BY 1`)
}

// Folders reach Confluence Cloud in their place in the tree, with the
// pages in them, through faults; a re-run, with its journal or without,
// makes none twice. An increment moves a page into a folder; a folder
// renamed or deleted at the source is reported (v2 can neither rename nor
// purge one) and the deleted one goes to the destination's trash.
func TestCloudImportFolders(t *testing.T) {
	dir := t.TempDir()
	src, arch := exportedSite(t, dir, generate.Options{Users: 10, Spaces: 2, Pages: 24, AttachmentBytes: 1 << 10, Seed: 7, Folders: 3})
	dest, c := cloudDest(t, 0.1)
	sameAccounts(t, src, dest)
	journal := filepath.Join(dir, "journal.db")
	rep, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	want := tree(t, src)
	if got := tree(t, dest); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the tree at the destination:\n%s\nat the source:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	folders := countRows(t, src, `SELECT count(*) FROM content WHERE type = 'folder'`)
	if folders == 0 || rep.Kinds["folder"] == nil || rep.Kinds["folder"].Created != int64(folders) {
		t.Errorf("%d folders; the report: %+v", folders, rep.Kinds["folder"])
	}
	for _, withJournal := range []bool{true, false} {
		if !withJournal {
			os.Remove(journal)
		}
		again, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := tree(t, dest); fmt.Sprint(got) != fmt.Sprint(want) || again.Totals().Created != 0 {
			t.Errorf("a re-run (journal %v) created %d: %s", withJournal, again.Totals().Created, strings.Join(got, "\n"))
		}
	}

	// At the source: a page moves into a folder, a folder is renamed, and
	// another is purged (its pages lifted to its parent).
	var page, into, renamed, purged string
	src.DB().QueryRow(`SELECT id FROM content WHERE type = 'page' AND deleted_rev IS NULL AND status = 'current' AND parent_id IS NULL ORDER BY id DESC LIMIT 1`).Scan(&page)
	src.DB().QueryRow(`SELECT id FROM content WHERE type = 'folder' ORDER BY id LIMIT 1`).Scan(&into)
	src.DB().QueryRow(`SELECT id FROM content WHERE type = 'folder' AND id != ? ORDER BY id LIMIT 1`, into).Scan(&renamed)
	src.DB().QueryRow(`SELECT id FROM content WHERE type = 'folder' AND id NOT IN (?, ?) ORDER BY id LIMIT 1`, into, renamed).Scan(&purged)
	if page == "" || purged == "" {
		t.Fatalf("page %q, folders %q %q %q", page, into, renamed, purged)
	}
	var oldTitle string
	src.DB().QueryRow(`SELECT title FROM content_versions WHERE content_id = ? ORDER BY number DESC LIMIT 1`, renamed).Scan(&oldTitle)
	err = src.Update(ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "", func(tx *embedded.Tx) error {
		if err := tx.MoveContent(page, into, 9); err != nil {
			return err
		}
		var n int
		src.DB().QueryRow(`SELECT max(number) FROM content_versions WHERE content_id = ?`, renamed).Scan(&n)
		if err := tx.AddVersion(model.Version{ContentID: renamed, Number: n + 1, Title: "Renamed folder", At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			return err
		}
		if err := tx.LiftChildren(purged); err != nil {
			return err
		}
		return tx.DeleteContent(purged)
	})
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(dir, "inc.ferry")
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: src}, inc, export.Options{Since: arch}); err != nil {
		t.Fatal(err)
	}
	rep, err = RunCloud(ctx, inc, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	reported := fmt.Sprint(rep.Skipped)
	if !strings.Contains(reported, "cannot rename a folder") || !strings.Contains(reported, "cannot purge a folder") {
		t.Errorf("the increment's report: %v", rep.Skipped)
	}
	// The copy is the source but for the rename.
	want = tree(t, src)
	for i, line := range want {
		want[i] = strings.ReplaceAll(line, "Renamed folder", oldTitle)
	}
	sort.Strings(want)
	if got := tree(t, dest); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the increment, the tree at the destination:\n%s\nat the source:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := countRows(t, dest, `SELECT count(*) FROM content WHERE type = 'folder' AND status = 'trashed' AND deleted_rev IS NULL`); n != 1 {
		t.Errorf("%d trashed folders at the destination, want the purged one", n)
	}
}
