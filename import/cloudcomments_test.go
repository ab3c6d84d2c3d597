package importer

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// An inline comment goes where its text is in the page as written, its
// occurrences counted there; one whose text is gone becomes a footer
// comment quoting it (its later versions too), reported and marked in
// ferry.source; neither stops the import, and a re-run writes nothing.
func TestCloudInlineComments(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	inline := func(tx *embedded.Tx, id, selection string, index int) error {
		return errors.Join(
			tx.CreateComment(model.Comment{ID: id, ContainerID: "c1", Location: "inline", Status: "current", Author: "u1", CreatedAt: at,
				Anchor: &model.InlineAnchor{Selection: selection, MatchIndex: index, MarkerRef: "m-" + id}}),
			tx.AddCommentVersion(model.Version{ContentID: id, Number: 1, Body: "<p>on " + selection + "</p>", Author: "u1", At: at}))
	}
	err = src.Update(ctx, at, "u1", func(tx *embedded.Tx) error {
		return errors.Join(
			tx.PutUser(userU1),
			tx.CreateSpace(model.Space{ID: "s1", Key: "IN", Name: "Inline", Type: "global", Status: "current", CreatedAt: at}),
			tx.CreateContent(model.Content{ID: "c1", Type: "page", SpaceID: "s1", Status: "current", CreatedAt: at, Author: "u1"}),
			tx.AddVersion(model.Version{ContentID: "c1", Number: 1, Title: "A page", Body: "<p>alpha <b>beta</b> alpha &amp; gamma</p>", Author: "u1", At: at}),
			inline(tx, "k1", "alpha", 1),   // the second of two
			inline(tx, "k2", "beta", 0),    // across markup
			inline(tx, "k3", "& gamma", 0), // an entity
			tx.CreateComment(model.Comment{ID: "k4", ContainerID: "c1", ParentID: "k3", Location: "inline", Status: "current", Author: "u1", CreatedAt: at}),
			tx.AddCommentVersion(model.Version{ContentID: "k4", Number: 1, Body: "<p>a reply</p>", Author: "u1", At: at}),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The page is edited: "gamma" goes, and with it k3's text; k3 is
	// edited after.
	err = src.Update(ctx, at.Add(time.Hour), "u1", func(tx *embedded.Tx) error {
		return errors.Join(tx.AddVersion(model.Version{ContentID: "c1", Number: 2, Title: "A page", Body: "<p>alpha <b>beta</b> alpha</p>", Author: "u1", At: at.Add(time.Hour)}),
			tx.AddCommentVersion(model.Version{ContentID: "k3", Number: 2, Body: "<p>on gamma, edited</p>", Author: "u1", At: at.Add(time.Hour)}),
			tx.AddCommentVersion(model.Version{ContentID: "k4", Number: 2, Body: "<p>a reply, edited</p>", Author: "u1", At: at.Add(time.Hour)}))
	})
	if err != nil {
		t.Fatal(err)
	}
	arch := exportTo(t, src, filepath.Join(dir, "a.ferry"), "")
	dest, c := cloudDest(t, 0)
	journal := filepath.Join(dir, "j.db")
	rep, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	got := column(t, dest, `SELECT cm.location || ' ' || coalesce(json_extract(cm.anchor, '$.selection') || '#' || json_extract(cm.anchor, '$.match_index'), '-') || ' ' || v.body
		FROM comments cm JOIN comment_versions v ON v.comment_id = cm.id AND v.number = (SELECT max(number) FROM comment_versions WHERE comment_id = cm.id) ORDER BY 1`)
	// k3's reply is made where k3 is: among the footer comments.
	want := "footer - <blockquote><p>&amp; gamma</p></blockquote><p>on gamma, edited</p>|footer - <p>a reply, edited</p>|inline alpha#1 <p>on alpha</p>|inline beta#0 <p>on beta</p>"
	if strings.Join(got, "|") != want {
		t.Errorf("comments at the destination:\n %s\nwant\n %s", strings.Join(got, "|"), want)
	}
	if rep.Changed[fallbackReason] != 1 {
		t.Errorf("changed: %v", rep.Changed)
	}
	if n := countRows(t, dest, `SELECT count(*) FROM sandbox_comment_properties WHERE value LIKE '%inline_fallback%'`); n != 1 {
		t.Errorf("%d comments marked as written otherwise in ferry.source, want 1", n)
	}
	for _, j := range []string{journal, filepath.Join(dir, "fresh.db")} {
		again, err := RunCloud(ctx, arch, c, j, Options{AllowMissingApps: true})
		if err != nil {
			t.Fatalf("re-run with %s: %v", filepath.Base(j), err)
		}
		if tot := again.Totals(); tot.Created+tot.Updated != 0 {
			t.Errorf("re-run with %s wrote %+v", filepath.Base(j), tot)
		}
	}
}
