package compare

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"ferry/model"
)

// diffOf compares two sites given as their changes.
func diffOf(t *testing.T, a, b []*model.Change) ([]KindSummary, []Difference) {
	t.Helper()
	sides := map[string][]*model.Change{"a": a, "b": b}
	res, err := compareWith(context.Background(), [2]string{"a", "b"}, func(_ context.Context, st *store, side string) error {
		for _, c := range sides[side] {
			if err := st.apply(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Kinds, res.Differences
}

// site builds a tiny site; ids differ between calls with another prefix,
// the content does not unless body says so.
func site(prefix, body string) []*model.Change {
	return siteWith(prefix, body, func(b string) string { return b })
}

// siteWith is site with each body passed through stored.
func siteWith(prefix, body string, stored func(string) string) []*model.Change {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return []*model.Change{
		{Type: model.UserCreated, ID: prefix + "u", Payload: &model.User{AccountID: prefix + "u", Email: "Ann@Example.com", DisplayName: "Ann", Status: "active"}},
		{Type: model.SpaceCreated, ID: prefix + "s", Payload: &model.Space{ID: prefix + "s", Key: "ENG", Name: "Engineering"}},
		{Type: model.PageCreated, ID: prefix + "p", Payload: &model.Content{ID: prefix + "p", Type: "page", SpaceID: prefix + "s", Status: "current", CreatedAt: at, Author: prefix + "u"}},
		{Type: model.PageVersion, ID: prefix + "p", Payload: &model.Version{ContentID: prefix + "p", Number: 1, Title: "Home", At: at, Author: prefix + "u",
			Body: stored(`<p>` + body + ` <ac:link><ri:user ri:account-id="` + prefix + `u"/></ac:link></p>`)}},
		{Type: model.AppInstalled, ID: "app", Payload: &model.App{Key: "app-" + prefix}},
	}
}

func TestIdsDoNotMatterContentDoes(t *testing.T) {
	if _, diffs := diffOf(t, site("a-", "hello"), site("b-", "hello")); len(diffs) != 0 {
		t.Fatalf("same content, other ids: %v", diffs)
	}
	sums, diffs := diffOf(t, site("a-", "hello"), site("b-", "goodbye"))
	if len(diffs) != 1 || diffs[0].Kind != "page" || diffs[0].Key != "ENG/page/Home" {
		t.Fatalf("a changed body: %v", diffs)
	}
	for _, s := range sums {
		if s.Kind == "app" {
			t.Error("apps are not copied, so not compared")
		}
	}
}

// Two blog posts of one title in a space: whichever order their ids put
// them in, the same two compare equal, and losing one is a difference.
func TestSameTitledContentIsComparedWhole(t *testing.T) {
	posts := func(prefix string, bodies ...string) []*model.Change {
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var s []*model.Change
		apply := func(c *model.Change) { s = append(s, c) }
		apply(&model.Change{Type: model.SpaceCreated, ID: "s", Payload: &model.Space{ID: "s", Key: "ENG"}})
		for i, body := range bodies {
			id := prefix + string(rune('a'+i))
			apply(&model.Change{Type: model.BlogpostCreated, ID: id, Payload: &model.Content{ID: id, Type: "blogpost", SpaceID: "s", Status: "current", CreatedAt: at}})
			apply(&model.Change{Type: model.BlogpostVersion, ID: id, Payload: &model.Version{ContentID: id, Number: 1, Title: "News", Body: body, At: at}})
		}
		return s
	}
	if _, diffs := diffOf(t, posts("x", "one", "two"), posts("y", "two", "one")); len(diffs) != 0 {
		t.Fatalf("the same two posts in another id order: %v", diffs)
	}
	if _, diffs := diffOf(t, posts("x", "one", "two"), posts("y", "two")); len(diffs) == 0 {
		t.Fatal("a lost same-titled post went unnoticed")
	}
}

// Load keeps bodies squeezed (a hash and the accounts they mention): a
// squeezed side compares with a raw one exactly as two raw sides do.
func TestSqueezedBodiesCompareAsRaw(t *testing.T) {
	if _, diffs := diffOf(t, site("a-", "hello"), siteWith("b-", "hello", squeeze)); len(diffs) != 0 {
		t.Fatalf("a squeezed copy of the same content: %v", diffs)
	}
	if _, diffs := diffOf(t, site("a-", "hello"), siteWith("b-", "hullo", squeeze)); len(diffs) != 1 {
		t.Fatalf("a squeezed copy with another body: %v", diffs)
	}
	if b := squeeze(`<p>` + strings.Repeat("x", 5000) + `</p>`); len(b) > 100 {
		t.Errorf("a squeezed body of 5 kB is %d bytes", len(b))
	}
}

// Each side is replayed into a temporary file under TMPDIR, removed once
// the comparison is done, whether it succeeded or failed.
func TestTemporaryFilesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, diffs := diffOf(t, site("a-", "hello"), site("b-", "hullo")); len(diffs) != 1 {
		t.Fatalf("differences: %v", diffs)
	}
	_, err := Compare(context.Background(), "no-such-site.db", "no-such.ferry")
	if err == nil {
		t.Fatal("compared sites that do not exist")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}
