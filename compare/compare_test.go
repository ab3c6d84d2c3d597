package compare

import (
	"strings"
	"testing"
	"time"

	"ferry/model"
)

// site builds a tiny state; ids differ between calls with another prefix,
// the content does not unless body says so.
func site(t *testing.T, prefix, body string) Content {
	t.Helper()
	return siteWith(t, prefix, body, func(b string) string { return b })
}

// siteWith is site with each body passed through stored.
func siteWith(t *testing.T, prefix, body string, stored func(string) string) Content {
	t.Helper()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := model.NewState()
	for _, c := range []*model.Change{
		{Type: model.UserCreated, ID: prefix + "u", Payload: &model.User{AccountID: prefix + "u", Email: "Ann@Example.com", DisplayName: "Ann", Status: "active"}},
		{Type: model.SpaceCreated, ID: prefix + "s", Payload: &model.Space{ID: prefix + "s", Key: "ENG", Name: "Engineering"}},
		{Type: model.PageCreated, ID: prefix + "p", Payload: &model.Content{ID: prefix + "p", Type: "page", SpaceID: prefix + "s", Status: "current", CreatedAt: at, Author: prefix + "u"}},
		{Type: model.PageVersion, ID: prefix + "p", Payload: &model.Version{ContentID: prefix + "p", Number: 1, Title: "Home", At: at, Author: prefix + "u",
			Body: stored(`<p>` + body + ` <ac:link><ri:user ri:account-id="` + prefix + `u"/></ac:link></p>`)}},
		{Type: model.AppInstalled, ID: "app", Payload: &model.App{Key: "app-" + prefix}},
	} {
		if err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	return Normalize(s)
}

func TestIdsDoNotMatterContentDoes(t *testing.T) {
	if _, diffs := Diff(site(t, "a-", "hello"), site(t, "b-", "hello")); len(diffs) != 0 {
		t.Fatalf("same content, other ids: %v", diffs)
	}
	sums, diffs := Diff(site(t, "a-", "hello"), site(t, "b-", "goodbye"))
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
	posts := func(prefix string, bodies ...string) Content {
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		s := model.NewState()
		apply := func(c *model.Change) {
			if err := s.Apply(c); err != nil {
				t.Fatal(err)
			}
		}
		apply(&model.Change{Type: model.SpaceCreated, ID: "s", Payload: &model.Space{ID: "s", Key: "ENG"}})
		for i, body := range bodies {
			id := prefix + string(rune('a'+i))
			apply(&model.Change{Type: model.BlogpostCreated, ID: id, Payload: &model.Content{ID: id, Type: "blogpost", SpaceID: "s", Status: "current", CreatedAt: at}})
			apply(&model.Change{Type: model.BlogpostVersion, ID: id, Payload: &model.Version{ContentID: id, Number: 1, Title: "News", Body: body, At: at}})
		}
		return Normalize(s)
	}
	if _, diffs := Diff(posts("x", "one", "two"), posts("y", "two", "one")); len(diffs) != 0 {
		t.Fatalf("the same two posts in another id order: %v", diffs)
	}
	if _, diffs := Diff(posts("x", "one", "two"), posts("y", "two")); len(diffs) == 0 {
		t.Fatal("a lost same-titled post went unnoticed")
	}
}

// Load keeps bodies squeezed (a hash and the accounts they mention): a
// squeezed side compares with a raw one exactly as two raw sides do.
func TestSqueezedBodiesCompareAsRaw(t *testing.T) {
	if _, diffs := Diff(site(t, "a-", "hello"), siteWith(t, "b-", "hello", squeeze)); len(diffs) != 0 {
		t.Fatalf("a squeezed copy of the same content: %v", diffs)
	}
	if _, diffs := Diff(site(t, "a-", "hello"), siteWith(t, "b-", "hullo", squeeze)); len(diffs) != 1 {
		t.Fatalf("a squeezed copy with another body: %v", diffs)
	}
	if b := squeeze(`<p>` + strings.Repeat("x", 5000) + `</p>`); len(b) > 100 {
		t.Errorf("a squeezed body of 5 kB is %d bytes", len(b))
	}
}
