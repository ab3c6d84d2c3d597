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

// Wiki markup (old XML exports) is converted by Cloud before it is
// written, blog posts' included (v2 takes them in storage format only);
// what Cloud cannot convert is written as preformatted text and reported;
// neither stops the import.
func TestCloudConvertsWikiMarkup(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	content := func(tx *embedded.Tx, id, kind, title, wiki string) error {
		return errors.Join(tx.CreateContent(model.Content{ID: id, Type: kind, SpaceID: "s1", Status: "current", CreatedAt: at, Author: "u1"}),
			tx.AddVersion(model.Version{ContentID: id, Number: 1, Title: title, Body: wiki, Format: "wiki", Author: "u1", At: at}))
	}
	err = src.Update(ctx, at, "u1", func(tx *embedded.Tx) error {
		return errors.Join(
			tx.PutUser(userU1),
			tx.CreateSpace(model.Space{ID: "s1", Key: "WK", Name: "Wiki", Type: "global", Status: "current", CreatedAt: at}),
			content(tx, "p1", "page", "Plain", "h2. Plan\n\n* one\n* _two_"),
			content(tx, "b1", "blogpost", "News", "*Big* news, see [the plan|https://example.com/plan]"),
			content(tx, "p2", "page", "Code", "{code}x < y{code}"))
	})
	if err != nil {
		t.Fatal(err)
	}
	arch := exportTo(t, src, filepath.Join(dir, "a.ferry"), "")
	dest, c := cloudDest(t, 0)
	rep, err := RunCloud(ctx, arch, c, filepath.Join(dir, "j.db"), Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	got := column(t, dest, `SELECT v.title || ': ' || v.body FROM content c JOIN content_versions v ON v.content_id = c.id WHERE v.title IN ('Plain', 'News', 'Code') ORDER BY 1`)
	want := `Code: <pre>{code}x &lt; y{code}</pre>|News: <p><strong>Big</strong> news, see <a href="https://example.com/plan">the plan</a></p>|Plain: <h2>Plan</h2><ul><li>one</li><li><em>two</em></li></ul>`
	if strings.Join(got, "|") != want {
		t.Errorf("bodies at the destination:\n %s\nwant\n %s", strings.Join(got, "|"), want)
	}
	if rep.Changed[wikiConverted] != 2 || rep.Changed[wikiUnconverted] != 1 {
		t.Errorf("changed: %v", rep.Changed)
	}
}
